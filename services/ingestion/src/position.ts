import { Code, ConnectError } from "@connectrpc/connect";
import type { Bus } from "@tailor/bus";
import type { Logger } from "@tailor/telemetry";
import type { WriteOrder } from "./document-store.js";

/**
 * The order of an RPC write among bus events: the DATA stream's last sequence now. Every bus
 * event published before this call is then older than it (and skipped if it comes again), every
 * one published after it is newer. Without the stream the write cannot be ordered: UNAVAILABLE.
 */
export async function callOrder(bus: Bus, logger: Logger): Promise<WriteOrder> {
  try {
    const info = await bus.jsm.streams.info(bus.subjects.stream("DATA"));
    return { kind: "call", position: info.state.last_seq };
  } catch (err) {
    logger.warn({ err: (err as Error).message }, "DATA stream position unavailable");
    throw new ConnectError(
      "the bus is unavailable, so the write cannot be ordered against published events; retry later",
      Code.Unavailable,
    );
  }
}
