/**
 * A trainer without RPC: the job runner over a real PostgreSQL and NATS (jobs read the tenant's
 * feedback) and the fake services, run as a child process by the resumption test (which kills it
 * with SIGKILL mid-job). Runs until the job named on the command line ends. Arguments: database
 * URL, artifact root, file of registered versions, work dir, job id, bus prefix.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Bus, Subjects } from "@tailor/bus";
import { Database } from "@tailor/db";
import { createLogger } from "@tailor/telemetry";
import { testNatsUrl } from "@tailor/testing";
import { parseTrainerConfig } from "../config.js";
import type { TrainerContext } from "../context.js";
import { migrations } from "../db/migrations.js";
import type { TrainerDB } from "../db/schema.js";
import { JobStore } from "../jobs/job-store.js";
import { isTerminal } from "../jobs/job-view.js";
import { JobRunner } from "../jobs/runner.js";
import { executeJob } from "../kinds/execute.js";
import { FakeRemote } from "./fake-remote.js";

const [url, artifactRoot, registeredFile, workDir, jobId, prefix] = process.argv.slice(2);
if (!url || !artifactRoot || !registeredFile || !workDir || !jobId || !prefix)
  throw new Error(
    "usage: run-jobs <db url> <artifact root> <registered file> <work dir> <job id> <bus prefix>",
  );
const logger = createLogger("trainer-child", "info");
const config = parseTrainerConfig({
  TAILOR_DATABASE_URL: url,
  TAILOR_TRAINER_CHECKPOINT_MS: "0",
  TAILOR_TRAINER_LEASE_MS: "1000",
  TAILOR_TRAINER_HEARTBEAT_MS: "200",
  TAILOR_TRAINER_WORK_DIR: workDir,
  TAILOR_TRAINER_ADAPTER_EPOCHS: "12",
});
const database = new Database<TrainerDB>({ url, schema: "trainer", migrations, logger });
await database.migrate();
const store = new JobStore(database, new Subjects("resume"));
const remote = new FakeRemote({ artifactRoot, registeredFile, dims: 32, docs: 600 });
const bus = await Bus.connect({ url: testNatsUrl(), name: "trainer-child", prefix, logger });
const ctx = { config, logger, remote, bus } as unknown as TrainerContext;
const runner = new JobRunner({
  store,
  owner: `child-${process.pid}`,
  concurrency: 1,
  leaseMs: config.lease.expiryMs,
  heartbeatMs: config.lease.heartbeatMs,
  pollMs: 100,
  progressIntervalMs: 200,
  logger,
  execute: (job, env) => executeJob(ctx, job, env),
});
runner.start();
for (;;) {
  const job = await database.db
    .selectFrom("jobs")
    .select("state")
    .where("id", "=", jobId)
    .executeTakeFirst();
  if (job && isTerminal(job.state)) break;
  await sleep(100);
}
await runner.stop();
await bus.close();
await database.destroy();
