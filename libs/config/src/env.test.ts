import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, env, parseEnv } from "./env.js";
import { Secret } from "./secret.js";
import { parseSharedConfig } from "./shared.js";

describe("parseEnv", () => {
  it("applies defaults and coerces", () => {
    const v = parseEnv({ A_PORT: env.port(7000), A_FLAG: env.bool(false) }, { A_PORT: "8080" });
    expect(v).toEqual({ A_PORT: 8080, A_FLAG: false });
  });

  it("names the bad variable", () => {
    try {
      parseEnv({ TAILOR_X_PORT: env.port(1) }, { TAILOR_X_PORT: "eighty" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables).toEqual(["TAILOR_X_PORT"]);
      expect((err as Error).message).toContain("TAILOR_X_PORT");
      expect((err as Error).message).toContain('"eighty"');
    }
  });

  it("rejects a bus prefix with dots", () => {
    expect(() => parseSharedConfig({ TAILOR_BUS_PREFIX: "a.b" })).toThrow(/TAILOR_BUS_PREFIX/);
  });

  it("treats empty strings as unset", () => {
    expect(parseSharedConfig({ TAILOR_NATS_URL: "" }).natsUrl).toBe("nats://127.0.0.1:4222");
  });

  it("refuses prefixes whose stream names would collide, naming TAILOR_BUS_PREFIX", () => {
    expect(parseSharedConfig({ TAILOR_BUS_PREFIX: "pfx-y" }).busPrefix).toBe("pfx-y");
    for (const p of ["pfx_y", "PFX-Y", "pfx--y", "dlq"]) {
      expect(() => parseSharedConfig({ TAILOR_BUS_PREFIX: p }), p).toThrow(/TAILOR_BUS_PREFIX/);
    }
  });

  it("never repeats a secret variable's value in an error", () => {
    try {
      parseEnv({ TAILOR_X_TOKEN: env.int(1) }, { TAILOR_X_TOKEN: "hunter2-secret" });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain("TAILOR_X_TOKEN ([redacted])");
      expect((err as Error).message).not.toContain("hunter2");
    }
  });
});

describe("a refused database URL", () => {
  it("never shows its password, with or without a scheme", () => {
    for (const [value, shown] of [
      ["postgres//admin:Hunter2Secret@host/db", "value not shown"],
      ["admin:Hunter2Secret@host:5432/db", "value not shown"],
      ["postgress://admin:Hunter2Secret@h/db", "postgress://admin:[redacted]@h/db"],
    ] as const) {
      let message = "";
      try {
        parseSharedConfig({ TAILOR_DATABASE_URL: value });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain("TAILOR_DATABASE_URL");
      expect(message).toContain(shown);
      expect(message).not.toContain("Hunter2Secret");
    }
  });
});

describe("NATS credentials", () => {
  it("are optional", () => {
    expect(parseSharedConfig({}).natsAuth).toEqual({ method: "none" });
  });

  it("take a service's own variables over the shared ones", () => {
    const e = {
      TAILOR_NATS_USER: "shared",
      TAILOR_NATS_PASSWORD: "pw-shared",
      TAILOR_INGESTION_NATS_USER: "ingestion",
      TAILOR_INGESTION_NATS_PASSWORD: "pw-ingestion",
    };
    const own = parseSharedConfig(e, "TAILOR_INGESTION").natsAuth;
    expect(own.method === "user" && [own.user, own.pass.reveal()]).toEqual([
      "ingestion",
      "pw-ingestion",
    ]);
    const shared = parseSharedConfig(e, "TAILOR_EMBEDDING").natsAuth;
    expect(shared.method === "user" && shared.user).toBe("shared");
    const token = parseSharedConfig({ TAILOR_NATS_TOKEN: "tok-1234" }).natsAuth;
    expect(token.method === "token" && token.token.reveal()).toBe("tok-1234");
  });

  it("name the variable that is missing or conflicting, without values", () => {
    const fail = (e: NodeJS.ProcessEnv, service?: string) => {
      try {
        parseSharedConfig(e, service);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return err as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };
    const noPass = fail({ TAILOR_RETRIEVAL_NATS_USER: "r" }, "TAILOR_RETRIEVAL");
    expect(noPass.variables).toEqual(["TAILOR_RETRIEVAL_NATS_PASSWORD"]);
    const both = fail({ TAILOR_NATS_PASSWORD: "pw-9876", TAILOR_NATS_TOKEN: "tok-5432" });
    expect(both.message).toMatch(/TAILOR_NATS_PASSWORD, TAILOR_NATS_TOKEN/);
    expect(both.message).not.toMatch(/pw-9876|tok-5432/);
    expect(fail({ TAILOR_NATS_CREDS: "/nonexistent/x.creds" }).variables).toEqual([
      "TAILOR_NATS_CREDS",
    ]);
  });

  it("print, log and serialise as [redacted]", () => {
    const c = parseSharedConfig({ TAILOR_NATS_USER: "u", TAILOR_NATS_PASSWORD: "pw-31337" });
    expect(JSON.stringify(c)).not.toContain("pw-31337");
    expect(inspect(c, { depth: 10 })).not.toContain("pw-31337");
    expect(`${new Secret("pw-31337")}`).toBe("[redacted]");
  });
});
