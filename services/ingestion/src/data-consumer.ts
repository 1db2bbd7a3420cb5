import { DurableConsumer, PoisonMessageError } from "@tailor/bus";
import { isInvalidContentError, isUnsupportedContentTypeError } from "./content/index.js";
import type { IngestionContext } from "./context.js";
import { decodeDataEvent } from "./data-event.js";

/** Consumes `data.>`: every published document event becomes a stored version and chunk events. */
export function createDataConsumer(ctx: IngestionContext): DurableConsumer {
  const consumer = new DurableConsumer(ctx.bus, {
    stream: "DATA",
    durable: "ingestion",
    filterSubject: ctx.bus.subjects.all("data"),
    concurrency: ctx.config.consumer.concurrency,
    maxDeliver: ctx.config.consumer.maxDeliver,
    logger: ctx.logger,
  });
  return consumer;
}

export async function startDataConsumer(
  ctx: IngestionContext,
  consumer: DurableConsumer,
): Promise<void> {
  await consumer.start(async (msg) => {
    const cmd = await decodeDataEvent(msg, ctx.bus.subjects, {
      maxTextBytes: ctx.config.maxTextBytes,
      claims: ctx.claims,
    });
    const seq = msg.seq;
    if (cmd.op === "delete") {
      await ctx.store.delete(cmd, seq);
      return;
    }
    try {
      const r = await ctx.store.upsert(cmd, seq);
      ctx.logger.debug(
        {
          tenant: cmd.tenant,
          source: cmd.source,
          id: cmd.id,
          status: r.status,
          chunks: r.chunkCount,
        },
        "document",
      );
    } catch (err) {
      if (isUnsupportedContentTypeError(err) || isInvalidContentError(err))
        throw new PoisonMessageError(err.message, { cause: err });
      throw err;
    }
  });
}
