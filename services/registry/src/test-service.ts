import { fromBinary } from "@bufbuild/protobuf";
import type { Bus } from "@tailor/bus";
import {
  ModelPromotedSchema,
  ModelRejectedSchema,
  ModelRolledBackSchema,
  RegistryService,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { startTestService, streamMessages, type TestService, waitFor } from "@tailor/testing";
import { parseRegistryConfig } from "./config.js";
import { create, type RegistryServiceHandle } from "./service.js";

/** A registry of a suite's own (own database and bus prefix) and a Connect JSON client to it. */
export type TestRegistry = TestService<RegistryServiceHandle, typeof RegistryService>;

export function startTestRegistry(label: string): Promise<TestRegistry> {
  return startTestService(label, RegistryService, (env) =>
    create(parseRegistryConfig({ ...env, TAILOR_REGISTRY_PORT: "0" }), {
      logger: createLogger("registry", "silent"),
    }),
  );
}

const SCHEMAS = {
  promoted: ModelPromotedSchema,
  rolled_back: ModelRolledBackSchema,
  rejected: ModelRejectedSchema,
} as const;
type Kind = keyof typeof SCHEMAS;

/** Every event of the MODEL stream on `model.<tenant>.<kind>`, oldest first, decoded. */
export async function modelEvents<K extends Kind>(bus: Bus, tenant: string, kind: K) {
  const messages = await streamMessages(bus, "MODEL", bus.subjects.model(tenant, kind));
  return messages.map((m) => fromBinary(SCHEMAS[kind], m.data)) as ReturnType<
    typeof fromBinary<(typeof SCHEMAS)[K]>
  >[];
}

/** Waits until the outbox has published everything committed so far. */
export async function outboxDrained(svc: RegistryServiceHandle): Promise<void> {
  await waitFor(
    async () =>
      Number(
        (
          await svc.ctx.database.db
            .selectFrom("outbox")
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      ) === 0,
    { what: "registry outbox drained", timeoutMs: 20_000 },
  );
}
