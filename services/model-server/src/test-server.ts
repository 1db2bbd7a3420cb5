import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ModelService } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { parseModelServerConfig } from "./config.js";
import { create, type ModelServerHandle } from "./service.js";

/** A started model-server on an ephemeral port plus a gRPC client for it (tests only). */
export interface TestServer {
  readonly handle: ModelServerHandle;
  readonly baseUrl: string;
  readonly client: ReturnType<typeof createClient<typeof ModelService>>;
}

/**
 * Starts the real service on 127.0.0.1:0 over `modelDir` without the GloVe default (parsing its
 * 294 MB source would dominate every test); `env` adds or overrides TAILOR_MODEL_SERVER_* values.
 */
export async function startTestServer(
  modelDir: string,
  env: Record<string, string> = {},
): Promise<TestServer> {
  const config = parseModelServerConfig({
    TAILOR_HOST: "127.0.0.1",
    TAILOR_MODEL_SERVER_PORT: "0",
    TAILOR_MODEL_SERVER_MODEL_DIR: modelDir,
    TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: "none",
    TAILOR_MODEL_SERVER_INTRA_OP_THREADS: "1",
    ...env,
  });
  const handle = await create(config, { logger: createLogger("model-server-test") });
  await handle.start();
  const baseUrl = `http://127.0.0.1:${handle.port}`;
  const client = createClient(ModelService, createGrpcTransport({ baseUrl }));
  return { handle, baseUrl, client };
}
