import { Code, ConnectError } from "@connectrpc/connect";
import {
  DurableConsumer,
  decodeEvent,
  Events,
  type JsMsg,
  PoisonMessageError,
  TransientError,
} from "@tailor/bus";
import { runComparison } from "./compare.js";
import type { EvaluatorContext } from "./context.js";
import { evalSetNameProblem, isVersion } from "./fields.js";
import { claimDecision, releaseDecision } from "./gate-actions.js";
import { DEFAULT_DEPTH } from "./rpc/depth.js";
import { getThresholds } from "./thresholds.js";

/** Codes that no retry can change: the event names something that is not there or not valid. */
const FINAL = new Set([Code.NotFound, Code.InvalidArgument, Code.FailedPrecondition]);

/** `model.*.trained` under this deployment's prefix (the MODEL stream holds other news too). */
export function createModelConsumer(ctx: EvaluatorContext): DurableConsumer {
  return new DurableConsumer(ctx.bus, {
    stream: "MODEL",
    durable: "evaluator",
    filterSubject: `${ctx.bus.subjects.subjectPrefix}model.*.trained`,
    maxDeliver: ctx.config.consumer.maxDeliver,
    concurrency: ctx.config.consumer.concurrency,
    ackWaitMs: 60_000,
    logger: ctx.logger,
  });
}

/**
 * A trained candidate is compared with the champion on its held-out set and promoted or
 * rejected. Once per (candidate, eval set): a redelivery finds the decision made and stops.
 */
export async function handleModelTrained(
  ctx: EvaluatorContext,
  m: JsMsg,
  signal?: AbortSignal,
): Promise<void> {
  const ev = decodeEvent(Events.modelTrained, m);
  ctx.bus.subjects.requireSubjectTenant(m.subject, "model", ev.tenant);
  if (!isVersion(ev.version)) throw new PoisonMessageError("version is not <model>@v<n>");
  let evalSet = ev.heldoutEvalSet;
  if (!evalSet) evalSet = (await getThresholds(ctx.database, ev.tenant))?.eval_set ?? "";
  if (!evalSet)
    throw new PoisonMessageError(
      "no eval set to judge the candidate on: heldout_eval_set is empty and the tenant has no threshold eval_set",
    );
  const problem = evalSetNameProblem(evalSet);
  if (problem) throw new PoisonMessageError(`heldout_eval_set ${problem}`);
  const claim = await claimDecision(ctx, ev.tenant, ev.version, evalSet);
  if (claim === "done") {
    ctx.logger.info({ tenant: ev.tenant, version: ev.version }, "candidate already judged");
    return;
  }
  if (claim === "busy") throw new TransientError("another replica is judging this candidate");
  // Comparisons outlast the ack wait: tell the server the message is still being worked on.
  const heartbeat = setInterval(() => m.working(), 20_000);
  try {
    await runComparison(ctx, {
      tenant: ev.tenant,
      evalSet,
      candidate: ev.version,
      champion: "",
      dryRun: false,
      depth: DEFAULT_DEPTH,
      signal,
    });
  } catch (err) {
    await releaseDecision(ctx, ev.tenant, ev.version, evalSet).catch(() => {});
    if (signal?.aborted) throw new TransientError("evaluator stopping; judged on redelivery");
    const e = ConnectError.from(err);
    if (FINAL.has(e.code)) throw new PoisonMessageError(`candidate not judged: ${e.rawMessage}`);
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}
