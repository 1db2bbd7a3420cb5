import {
  DurableConsumer,
  decodeEvent,
  Events,
  type JsMsg,
  PoisonMessageError,
  readAttributes,
} from "@tailor/bus";
import { isFieldError } from "@tailor/service";
import type { TrainerContext } from "./context.js";
import { checkTrainingRequest } from "./jobs/request.js";

/**
 * `training.<tenant>.requested` only: the TRAINING stream also holds this service's own
 * progress, succeeded, failed and cancelled events, which must not come back to it.
 */
export function createTrainingConsumer(ctx: TrainerContext): DurableConsumer {
  return new DurableConsumer(ctx.bus, {
    stream: "TRAINING",
    durable: "trainer",
    filterSubject: `${ctx.bus.subjects.subjectPrefix}training.*.requested`,
    maxDeliver: ctx.config.consumer.maxDeliver,
    concurrency: 4,
    logger: ctx.logger,
  });
}

/**
 * Queues the requested job. A request without its own request id is keyed by the event's id,
 * so a redelivery (the ack lost after the job was stored) does not queue it twice. A request
 * that can never be valid is dead-lettered with the reason; a missing eval set is not checked
 * here (the evaluator may be down): the job fails with the eval set's name instead.
 */
export async function handleTrainingRequested(ctx: TrainerContext, m: JsMsg): Promise<void> {
  const ev = decodeEvent(Events.trainingRequested, m);
  ctx.bus.subjects.requireSubjectTenant(m.subject, "training", ev.tenant);
  const eventId = readAttributes(m.headers).id;
  let n: ReturnType<typeof checkTrainingRequest>;
  try {
    n = checkTrainingRequest({
      ...ev,
      requestId: ev.requestId || (eventId ? `event:${eventId}` : `seq:${m.seq}`),
    });
  } catch (err) {
    if (isFieldError(err))
      throw new PoisonMessageError(`training request refused: ${err.message}`, { cause: err });
    throw err;
  }
  const { job, created } = await ctx.store.create(n);
  if (created) {
    ctx.logger.info({ tenant: job.tenant, job: job.id, kind: job.kind }, "training job queued");
    ctx.wake();
  }
}

export async function startTrainingConsumer(
  ctx: TrainerContext,
  consumer: DurableConsumer,
): Promise<void> {
  await consumer.start((m) => handleTrainingRequested(ctx, m));
}
