import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus } from "@tailor/bus";
import { TrainerService } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { createTestDatabase, testNatsUrl, uniquePrefix, withTestBusPrefix } from "@tailor/testing";
import { parseTrainerConfig, type TrainerConfig } from "../config.js";
import { create as createTrainer, type TrainerServiceHandle } from "../service.js";
import { FakeRemote, type FakeRemoteOptions } from "./fake-remote.js";

/** A trainer service on real PostgreSQL and NATS (its own database and bus prefix). */
export interface TestTrainer {
  trainer: TrainerServiceHandle;
  config: TrainerConfig;
  remote: FakeRemote;
  /** A connection of the test's own under the trainer's prefix. */
  bus: Bus;
  client: Client<typeof TrainerService>;
  prefix: string;
  /** A scratch folder removed by `close`. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts a trainer whose other services are a {@link FakeRemote}, polling and beating fast;
 * `env` adds or overrides trainer variables. `close` removes everything it made.
 */
export async function startTestTrainer(
  name: string,
  o: { remote?: Omit<FakeRemoteOptions, "artifactRoot">; env?: Record<string, string> } = {},
): Promise<TestTrainer> {
  const prefix = uniquePrefix(name);
  const tdb = await createTestDatabase(name);
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  const remote = new FakeRemote({ artifactRoot: join(dir, "models"), ...o.remote });
  const config = parseTrainerConfig({
    TAILOR_DATABASE_URL: tdb.url,
    TAILOR_NATS_URL: testNatsUrl(),
    TAILOR_BUS_PREFIX: prefix,
    TAILOR_TRAINER_PORT: "0",
    TAILOR_TRAINER_WORK_DIR: join(dir, "work"),
    TAILOR_TRAINER_POLL_MS: "100",
    TAILOR_TRAINER_HEARTBEAT_MS: "100",
    ...o.env,
  });
  const trainer = await createTrainer(config, {
    logger: createLogger(`${name}-test`, "silent"),
    remote,
  });
  await trainer.start();
  const bus = await Bus.connect({ url: testNatsUrl(), name: `${name}-test`, prefix });
  const client = createClient(
    TrainerService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${trainer.port}` }),
  );
  return {
    trainer,
    config,
    remote,
    bus,
    client,
    prefix,
    dir,
    close: async () => {
      await trainer.destroy();
      await bus.close();
      await tdb.drop();
      await (await withTestBusPrefix(prefix)).cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
