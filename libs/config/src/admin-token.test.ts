import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adminTokenPath, ensureAdminToken, readAdminToken } from "./admin-token.js";

describe("admin tokens of a local stack", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-admin-token-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("keeps one token file per service, private to the user, and reads it back", async () => {
    const model = ensureAdminToken(dir, {});
    const gateway = ensureAdminToken(dir, {}, "inference-gateway");
    expect(gateway).not.toBe(model);
    expect(gateway.length).toBeGreaterThanOrEqual(16);
    expect(adminTokenPath(dir)).toBe(join(dir, "model-server-admin-token"));
    const file = adminTokenPath(dir, "inference-gateway");
    expect(file).toBe(join(dir, "inference-gateway-admin-token"));
    expect((await readFile(file, "utf8")).trim()).toBe(gateway);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Stable across restarts; the CLI reads the same value.
    expect(ensureAdminToken(dir, {}, "inference-gateway")).toBe(gateway);
    expect(readAdminToken(dir, {}, "inference-gateway")).toBe(gateway);
    expect(readAdminToken(dir, {})).toBe(model);
  });

  it("prefers each service's own variable, and finds nothing where nothing is kept", () => {
    const e = {
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: "m".repeat(20),
      TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: "g".repeat(20),
    };
    expect(ensureAdminToken(dir, e, "inference-gateway")).toBe("g".repeat(20));
    expect(readAdminToken(dir, e)).toBe("m".repeat(20));
    expect(readAdminToken(dir, {}, "inference-gateway")).toBeUndefined();
  });
});
