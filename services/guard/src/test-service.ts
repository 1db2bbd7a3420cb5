import { fromBinary } from "@bufbuild/protobuf";
import type { Bus } from "@tailor/bus";
import { GuardService, type GuardViolation, GuardViolationSchema } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { startTestService, streamMessages, type TestService, waitFor } from "@tailor/testing";
import { parseGuardConfig } from "./config.js";
import { create, type GuardServiceHandle } from "./service.js";

/** A guard of a suite's own (own database and bus prefix) and a Connect JSON client to it. */
export type TestGuard = TestService<GuardServiceHandle, typeof GuardService>;

export function startTestGuard(label: string): Promise<TestGuard> {
  return startTestService(label, GuardService, (env) =>
    create(parseGuardConfig({ ...env, TAILOR_GUARD_PORT: "0" }), {
      logger: createLogger("guard", "silent"),
    }),
  );
}

/** Every violation of the GUARD stream for this tenant, oldest first, with the raw payload. */
export async function violations(
  bus: Bus,
  tenant: string,
): Promise<{ event: GuardViolation; raw: string }[]> {
  const messages = await streamMessages(bus, "GUARD", bus.subjects.guard(tenant, "violation"));
  return messages.map((m) => ({
    event: fromBinary(GuardViolationSchema, m.data),
    raw: Buffer.from(m.data).toString("latin1"),
  }));
}

/** Waits until the outbox has published everything committed so far. */
export async function outboxDrained(svc: GuardServiceHandle): Promise<void> {
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
    { what: "guard outbox drained", timeoutMs: 20_000 },
  );
}
