import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus } from "@tailor/bus";
import { RetrievalService } from "@tailor/proto";
import { startHarness, testDatabaseAdminUrl, testNatsUrl } from "@tailor/testing";
import { assertLoopback, type LoadtestOptions } from "./options.js";

/** The stack under load: a bus to publish on and a retrieval client to search and count with. */
export interface Target {
  bus: Bus;
  retrieval: Client<typeof RetrievalService>;
  /** Where it came from, for the progress log. */
  describe: string;
  close(): Promise<void>;
}

/** Starts an isolated stack (--self-contained) or connects to a running one. */
export async function openTarget(o: LoadtestOptions): Promise<Target> {
  if (o.selfContained) {
    // The harness takes its NATS and PostgreSQL from the test variables; hold them to loopback too.
    for (const url of testNatsUrl().split(",")) assertLoopback("TAILOR_TEST_NATS_URL", url);
    assertLoopback("TAILOR_TEST_DATABASE_URL", testDatabaseAdminUrl());
    const h = await startHarness("loadtest");
    return {
      bus: h.bus,
      retrieval: h.retrieval,
      describe: `self-contained stack, bus prefix ${h.prefix}, retrieval ${h.stack.url("retrieval")}`,
      close: () => h.close(),
    };
  }
  const bus = await Bus.connect({
    url: o.natsUrl,
    name: "tailor-loadtest",
    prefix: o.busPrefix,
    // Bus.connect updates the stream declarations, so it must not shrink a cluster's replicas.
    replicas: o.busReplicas,
  });
  return {
    bus,
    retrieval: createClient(RetrievalService, createGrpcTransport({ baseUrl: o.retrievalUrl })),
    describe: `running stack at ${o.natsUrl} (prefix "${o.busPrefix}"), retrieval ${o.retrievalUrl}`,
    close: () => bus.close(),
  };
}
