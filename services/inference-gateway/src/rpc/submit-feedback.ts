import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { Events, encodeEvent } from "@tailor/bus";
import { FeedbackReceivedSchema } from "@tailor/proto";
import {
  type SubmitFeedbackRequest,
  type SubmitFeedbackResponse,
  SubmitFeedbackResponseSchema,
} from "@tailor/proto/gateway";
import { checkText, FieldError, ID_RULE } from "@tailor/service";
import { call } from "../rag/downstream.js";
import { Stopwatch } from "../rag/stopwatch.js";
import { authorize, type GatewayDeps } from "./deps.js";

const MAX_IDS = 1000;
const CORRECTION_RULE = { maxBytes: 64 * 1024, control: "whitespace" } as const;

function checkIds(field: string, ids: readonly string[]): void {
  if (ids.length > MAX_IDS)
    throw new FieldError(field, `has ${ids.length} entries, over the limit of ${MAX_IDS}`);
  for (const [i, id] of ids.entries()) checkText(`${field}[${i}]`, id, ID_RULE);
}

/**
 * A rating, correction or relevance judgement of one of the caller's tenant's answers: a
 * `feedback` row and its `feedback.<tenant>.received` event in one transaction. The correction
 * is redacted by the guard first; the question is the interaction's (already redacted).
 */
export async function submitFeedback(
  d: GatewayDeps,
  req: SubmitFeedbackRequest,
  hc: HandlerContext,
): Promise<SubmitFeedbackResponse> {
  const caller = await authorize(d, hc, new Stopwatch());
  const { ctx } = d;
  checkText("interaction_id", req.interactionId, ID_RULE);
  if (!Number.isFinite(req.rating) || req.rating < -1 || req.rating > 1)
    throw new FieldError("rating", "must be a number in [-1, 1]");
  checkText("correction", req.correction, CORRECTION_RULE);
  checkIds("relevant_chunk_ids", req.relevantChunkIds);
  checkIds("relevant_document_ids", req.relevantDocumentIds);
  const interaction = await ctx.database.db
    .selectFrom("interactions")
    .select(["id", "question", "record"])
    .where("id", "=", req.interactionId)
    // Another tenant's interaction is as absent as one that never was.
    .where("tenant", "=", caller.tenant)
    .executeTakeFirst();
  if (!interaction)
    throw new ConnectError(
      "interaction_id: no such interaction for this key's tenant",
      Code.NotFound,
    );
  const correction = req.correction.trim()
    ? (
        await call(
          "guard",
          ctx.logger,
          ctx.guard.redact({ tenant: caller.tenant, text: req.correction }, { signal: hc.signal }),
        )
      ).text
    : "";
  const feedbackId = randomUUID();
  const record = interaction.record as { retrievalVersion?: unknown };
  const event = create(FeedbackReceivedSchema, {
    tenant: caller.tenant,
    interaction: interaction.id,
    rating: req.rating,
    question: interaction.question,
    relevantChunkIds: req.relevantChunkIds,
    relevantDocumentIds: req.relevantDocumentIds,
    correction,
    version: typeof record.retrievalVersion === "string" ? record.retrievalVersion : "",
    guardFalsePositive: req.guardFalsePositive,
    feedbackId,
    keyId: caller.keyId,
  });
  await ctx.database.transaction(async (trx) => {
    await trx
      .insertInto("feedback")
      .values({
        id: feedbackId,
        tenant: caller.tenant,
        interaction_id: interaction.id,
        key_id: caller.keyId,
        rating: req.rating,
        guard_false_positive: req.guardFalsePositive,
      })
      .execute();
    await trx
      .insertInto("outbox")
      .values({
        subject: ctx.bus.subjects.feedback(caller.tenant, "received"),
        event_type: Events.feedbackReceived.type,
        msg_id: `feedback-received:${caller.tenant}:${feedbackId}`,
        payload: Buffer.from(encodeEvent(Events.feedbackReceived, event)),
      })
      .execute();
  });
  ctx.relay.notify();
  return create(SubmitFeedbackResponseSchema, { feedbackId });
}
