import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { buildGloveModel } from "@tailor/models";
import { parseLauncherEnv } from "./env.js";
import { ensureNats, ensureRealPostgres, type Started } from "./infra.js";
import { say } from "./output.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/**
 * `npm test`: make sure a NATS server and a PostgreSQL server are there (reuse, start or
 * install), build the default embedder once, then run vitest against them.
 */
async function main(args: string[]): Promise<number> {
  const e = parseLauncherEnv(process.env);
  const dataDir = resolve(ROOT, ".tailor/test");
  const started: Started[] = [];
  try {
    const nats = await ensureNats(e.TAILOR_TEST_NATS_URL || e.TAILOR_NATS_URL, dataDir);
    started.push(nats);
    let pgUrl = e.TAILOR_TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
    let pgMode = "real";
    const real = await ensureRealPostgres(pgUrl);
    if (real) pgUrl = real;
    else {
      // Last resort on a machine without PostgreSQL or apt: every suite gets its own PGlite.
      pgMode = "pglite";
      say("setup", "no PostgreSQL could be started: suites will use embedded PGlite servers");
    }
    say(
      "setup",
      `NATS ${nats.kind} at ${nats.url}; PostgreSQL ${pgMode === "real" ? new URL(pgUrl).host : "PGlite per suite"}`,
    );
    const models = resolve(ROOT, ".tailor/models");
    const t = Date.now();
    const built = await buildGloveModel({ outDir: models });
    say(
      "setup",
      `default embedder ${built.built ? "built" : "cached"} in ${models} (${Date.now() - t} ms)`,
    );
    const env = {
      ...process.env,
      TAILOR_TEST_NATS_URL: nats.url,
      TAILOR_TEST_DATABASE_URL: pgUrl,
      TAILOR_TEST_PG_MODE: pgMode,
      TAILOR_TEST_MODEL_DIR: models,
      TAILOR_LOG_LEVEL: process.env["TAILOR_LOG_LEVEL"] ?? "warn",
    };
    return await new Promise<number>((res) => {
      const child = spawn(
        process.execPath,
        [resolve(ROOT, "node_modules/vitest/vitest.mjs"), "run", ...args],
        { cwd: ROOT, env, stdio: "inherit" },
      );
      child.once("exit", (code, signal) => res(code ?? (signal ? 1 : 0)));
    });
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say("test", `failed to prepare: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
