import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { buildGloveModel } from "@tailor/models";
import { parseLauncherConfig } from "./env.js";
import { ensureNats, type Started } from "./infra.js";
import { say } from "./output.js";
import { ensurePostgres } from "./postgres.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/**
 * `npm test`: make sure a NATS server answers at TAILOR_NATS_URL and a PostgreSQL at
 * TAILOR_DATABASE_URL (reuse, start or install them), build the default embedder once, then run
 * vitest against them. Each suite makes its own database on that server and its own bus prefix.
 */
async function main(args: string[]): Promise<number> {
  const c = parseLauncherConfig(process.env, ROOT);
  const dataDir = resolve(ROOT, ".tailor/test");
  const started: Started[] = [];
  try {
    const nats = await ensureNats(c.natsUrl, dataDir);
    started.push(nats);
    const pg = await ensurePostgres(c.databaseUrl, resolve(dataDir, "postgres"), {});
    started.push(pg);
    say(
      "setup",
      `NATS ${nats.kind} at ${nats.url}; PostgreSQL ${pg.kind} at ${new URL(pg.url).host}`,
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
      TAILOR_NATS_URL: nats.url,
      TAILOR_DATABASE_URL: pg.url,
      // Plumbing for the suites (libs/testing reads these first); users set the two above.
      TAILOR_TEST_NATS_URL: nats.url,
      TAILOR_TEST_DATABASE_URL: pg.url,
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
