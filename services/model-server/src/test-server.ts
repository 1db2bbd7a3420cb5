import { randomBytes } from "node:crypto";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ModelService } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { parseModelServerConfig } from "./config.js";
import { create, type ModelServerHandle } from "./service.js";

/** A started model-server on an ephemeral port plus a gRPC client for it (tests only). */
export interface TestServer {
  readonly handle: ModelServerHandle;
  readonly baseUrl: string;
  /** Sent as `authorization: Bearer` by `client`; "" when the server has none. */
  readonly adminToken: string;
  readonly client: ReturnType<typeof createClient<typeof ModelService>>;
}

/**
 * Starts the real service on 127.0.0.1:0 over `modelDir` without the GloVe default (parsing its
 * 294 MB source would dominate every test); `env` adds or overrides TAILOR_MODEL_SERVER_* values.
 * It has a random admin token, which `client` sends; `TAILOR_MODEL_SERVER_ADMIN_TOKEN: ""` starts
 * it without one.
 */
export async function startTestServer(
  modelDir: string,
  env: Record<string, string> = {},
): Promise<TestServer> {
  const adminToken = env["TAILOR_MODEL_SERVER_ADMIN_TOKEN"] ?? randomBytes(16).toString("hex");
  const config = parseModelServerConfig({
    TAILOR_HOST: "127.0.0.1",
    TAILOR_MODEL_SERVER_ADMIN_TOKEN: adminToken,
    TAILOR_MODEL_SERVER_PORT: "0",
    TAILOR_MODEL_SERVER_MODEL_DIR: modelDir,
    TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: "none",
    TAILOR_MODEL_SERVER_INTRA_OP_THREADS: "1",
    ...env,
  });
  const handle = await create(config, { logger: createLogger("model-server-test") });
  await handle.start();
  const baseUrl = `http://127.0.0.1:${handle.port}`;
  const bearer: Interceptor = (next) => (req) => {
    if (adminToken) req.header.set("authorization", `Bearer ${adminToken}`);
    return next(req);
  };
  const client = createClient(
    ModelService,
    createGrpcTransport({ baseUrl, interceptors: [bearer] }),
  );
  return { handle, baseUrl, adminToken, client };
}
