import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import { ConfigError } from "@tailor/config";
import { writeModelFolder } from "@tailor/models/testing";
import { ModelService } from "@tailor/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseModelServerConfig } from "./config.js";
import { startTestServer, type TestServer } from "./test-server.js";

let root: string;
let store: string;
const servers: TestServer[] = [];

async function code(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** A client of `srv` that sends `authorization` as given (or nothing). */
function clientWith(srv: TestServer, authorization?: string) {
  return createClient(
    ModelService,
    createGrpcTransport({
      baseUrl: srv.baseUrl,
      interceptors: [
        (next) => (req) => {
          if (authorization !== undefined) req.header.set("authorization", authorization);
          return next(req);
        },
      ],
    }),
  );
}

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer(store, env);
  servers.push(s);
  return s;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-admin-auth-"));
  store = join(root, "store");
  await writeModelFolder(join(root, "src"), { kind: "embedder", pooling: "mean" });
  await publishArtifact(join(root, "src"), "emb", "1", { root: store });
});

afterAll(async () => {
  for (const s of servers) await s.handle.destroy();
  await rm(root, { recursive: true, force: true });
});

describe("LoadModel and UnloadModel behind the admin token (real server)", () => {
  it("answer only a caller with the right bearer token", async () => {
    const srv = await start();
    expect(srv.adminToken).toMatch(/^[0-9a-f]{32}$/);
    const load = (c: ReturnType<typeof clientWith>) => c.loadModel({ name: "emb" });
    expect(await code(load(clientWith(srv)))).toBe(Code.Unauthenticated);
    expect(await code(load(clientWith(srv, `Basic ${srv.adminToken}`)))).toBe(Code.Unauthenticated);
    expect(await code(load(clientWith(srv, "Bearer not-the-token-at-all")))).toBe(
      Code.PermissionDenied,
    );
    // One character short: same prefix, different secret.
    expect(await code(load(clientWith(srv, `Bearer ${srv.adminToken.slice(0, -1)}`)))).toBe(
      Code.PermissionDenied,
    );
    expect(await code(clientWith(srv).unloadModel({ name: "emb" }))).toBe(Code.Unauthenticated);
    expect(srv.handle.registry.list().map((m) => m.name)).toEqual([]);

    const ok = await clientWith(srv, `Bearer ${srv.adminToken}`).loadModel({ name: "emb" });
    expect(ok.model).toMatchObject({ name: "emb", version: "1" });
    // Non-admin calls need no token.
    const listed = await clientWith(srv).listModels({});
    expect(listed.models.map((m) => m.name)).toEqual(["emb"]);
    expect(
      await code(clientWith(srv, "Bearer wrong-token-123456").unloadModel({ name: "emb" })),
    ).toBe(Code.PermissionDenied);
    await clientWith(srv, `bearer ${srv.adminToken}`).unloadModel({ name: "emb" });
    expect(srv.handle.registry.list()).toEqual([]);
  });

  it("are closed when no token is configured, unless the operator opens them", async () => {
    const closed = await start({ TAILOR_MODEL_SERVER_ADMIN_TOKEN: "" });
    const denied = await clientWith(closed, "Bearer anything-at-all-1234")
      .loadModel({ name: "emb" })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(denied?.code).toBe(Code.PermissionDenied);
    expect(denied?.rawMessage).toMatch(/TAILOR_MODEL_SERVER_ADMIN_TOKEN/);

    const open = await start({
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: "",
      TAILOR_MODEL_SERVER_ADMIN_OPEN: "true",
    });
    const r = await clientWith(open).loadModel({ name: "emb" });
    expect(r.model?.name).toBe("emb");
  });

  it("refuses a short token at start without printing it", () => {
    try {
      parseModelServerConfig({ TAILOR_MODEL_SERVER_ADMIN_TOKEN: "short-secret" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables).toEqual(["TAILOR_MODEL_SERVER_ADMIN_TOKEN"]);
      expect((err as Error).message).not.toContain("short-secret");
    }
  });
});
