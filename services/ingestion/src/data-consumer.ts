import { DurableConsumer, type JsMsg, type Outcome, PoisonMessageError } from "@tailor/bus";
import { isInvalidContentError, isUnsupportedContentTypeError } from "./content/index.js";
import type { IngestionContext } from "./context.js";
import { type DataCommand, decodeDataEvent } from "./data-event.js";
import type { DocumentInputData, WriteOrder } from "./document-store.js";
import { isDocumentRejectedError, isItemDataError, rejectedByDatabase } from "./store-errors.js";

/** Consumes `data.>`: every published document event becomes a stored version and chunk events. */
export function createDataConsumer(ctx: IngestionContext): DurableConsumer {
  return new DurableConsumer(ctx.bus, {
    stream: "DATA",
    durable: "ingestion",
    filterSubject: ctx.bus.subjects.all("data"),
    maxDeliver: ctx.config.consumer.maxDeliver,
    logger: ctx.logger,
  });
}

/**
 * Handles messages in batches: runs of upserts are stored together, a delete is applied in its
 * place in the stream order. A bad event (invalid field, content that cannot be extracted,
 * data the database refuses) is dead-lettered alone; its neighbours are stored.
 */
export async function startDataConsumer(
  ctx: IngestionContext,
  consumer: DurableConsumer,
): Promise<void> {
  await consumer.startBatches(
    { maxBatch: ctx.config.consumer.batch, maxWaitMs: 5 },
    async (msgs) => {
      const outcomes: Outcome[] = msgs.map(() => ({ ok: true }));
      const decoded = await Promise.all(
        msgs.map((m) =>
          decodeDataEvent(m, ctx.bus.subjects, {
            maxTextBytes: ctx.config.maxTextBytes,
            limits: ctx.limits,
            claims: ctx.claims,
          }).then(
            (cmd) => ({ cmd }),
            (error: unknown) => ({ error }),
          ),
        ),
      );
      let run: { i: number; doc: DocumentInputData; order: WriteOrder }[] = [];
      const flush = async () => {
        if (run.length === 0) return;
        const batch = run;
        run = [];
        try {
          const results = await ctx.store.upsertMany(
            batch.map(({ doc, order }) => ({ doc, order })),
          );
          for (const [j, r] of results.entries()) {
            if ("error" in r) outcomes[batch[j]!.i] = { ok: false, error: asPoison(r.error) };
          }
        } catch (error) {
          // Not any one document's fault (connection, deadlock…): the whole run is retried.
          for (const b of batch) outcomes[b.i] = { ok: false, error };
        }
      };
      for (const [i, d] of decoded.entries()) {
        if ("error" in d) {
          outcomes[i] = { ok: false, error: d.error };
          continue;
        }
        const cmd: DataCommand = d.cmd;
        const order: WriteOrder = { kind: "event", seq: (msgs[i] as JsMsg).seq };
        if (cmd.op === "upsert") {
          run.push({ i, doc: cmd, order });
          continue;
        }
        await flush();
        try {
          await ctx.store.delete(cmd, order);
        } catch (error) {
          outcomes[i] = {
            ok: false,
            error: isItemDataError(error) ? asPoison(rejectedByDatabase(error)) : error,
          };
        }
      }
      await flush();
      return outcomes;
    },
  );
}

/** What can never succeed for this document goes to the dead-letter stream with the reason. */
function asPoison(err: unknown): unknown {
  if (
    isUnsupportedContentTypeError(err) ||
    isInvalidContentError(err) ||
    isDocumentRejectedError(err)
  )
    return new PoisonMessageError(`document refused: ${err.message}`, { cause: err });
  return err;
}
