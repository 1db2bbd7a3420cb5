import { describe, expect, it } from "vitest";
import { parseLauncherConfig } from "./env.js";

describe("parseLauncherConfig", () => {
  it("takes every port from its variable", () => {
    const c = parseLauncherConfig(
      {
        TAILOR_INGESTION_PORT: "8101",
        TAILOR_EMBEDDING_PORT: "8102",
        TAILOR_RETRIEVAL_PORT: "8103",
        TAILOR_MODEL_SERVER_PORT: "8104",
      },
      "/repo",
    );
    expect(c.ports).toEqual({
      ingestion: 8101,
      embedding: 8102,
      retrieval: 8103,
      "model-server": 8104,
      // Not set: their defaults.
      registry: 7105,
      trainer: 7106,
      evaluator: 7107,
      guard: 7108,
      "inference-gateway": 7100,
    });
  });

  it("keeps the defaults without variables", () => {
    const c = parseLauncherConfig({}, "/repo");
    expect(c.ports.retrieval).toBe(7103);
    expect(c.dataDir).toBe("/repo/.tailor/data");
    expect(c.stackDataDir).toBe(c.dataDir);
    expect(c.databaseUrl).toBe("postgres://postgres@127.0.0.1:5432/tailor");
  });

  it("gives a prefixed stack its own data dir and database", () => {
    const c = parseLauncherConfig({ TAILOR_BUS_PREFIX: "new-comer" }, "/repo");
    expect(c.busPrefix).toBe("new-comer");
    expect(c.stackDataDir).toBe("/repo/.tailor/data/prefixes/new-comer");
    expect(c.databaseUrl).toBe("postgres://postgres@127.0.0.1:5432/tailor_new_comer");
  });

  it("honours an explicit database URL and an absolute data dir", () => {
    const c = parseLauncherConfig(
      {
        TAILOR_BUS_PREFIX: "x",
        TAILOR_DATABASE_URL: "postgres://u@db:6543/mine",
        TAILOR_DATA_DIR: "/var/tailor",
        TAILOR_NATS_URL: "nats://127.0.0.1:4999",
      },
      "/repo",
    );
    expect(c.databaseUrl).toBe("postgres://u@db:6543/mine");
    expect(c.stackDataDir).toBe("/var/tailor/prefixes/x");
    expect(c.natsUrl).toBe("nats://127.0.0.1:4999");
  });

  it("names the variable of a bad port", () => {
    expect(() => parseLauncherConfig({ TAILOR_RETRIEVAL_PORT: "70000" }, "/repo")).toThrow(
      /TAILOR_RETRIEVAL_PORT/,
    );
  });
});
