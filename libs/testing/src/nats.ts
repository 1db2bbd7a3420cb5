import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** The NATS server tests use: what `npm test` made sure answers, else TAILOR_NATS_URL, else the local default. */
export function testNatsUrl(): string {
  return (
    process.env["TAILOR_TEST_NATS_URL"] || process.env["TAILOR_NATS_URL"] || "nats://127.0.0.1:4222"
  );
}

/**
 * A prefix unique to one suite, so its streams and subjects never meet another suite's; lower
 * case, as TAILOR_BUS_PREFIX must be.
 */
export function uniquePrefix(label = "t"): string {
  const word = label
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")
    .slice(0, 8);
  return `${word}${randomBytes(4).toString("hex")}`;
}

/** Deletes every stream (and object-store bucket) whose name starts with the prefix. */
export async function withTestBusPrefix(prefix: string): Promise<{ cleanup: () => Promise<void> }> {
  return {
    cleanup: async () => {
      const nc = await connect({ servers: testNatsUrl() });
      try {
        const jsm = await jetstreamManager(nc);
        const up = prefix.toUpperCase();
        for await (const name of jsm.streams.names()) {
          if (name.startsWith(`${up}_`) || name.startsWith(`OBJ_${prefix}-`))
            await jsm.streams.delete(name);
        }
      } finally {
        await nc.close();
      }
    },
  };
}
