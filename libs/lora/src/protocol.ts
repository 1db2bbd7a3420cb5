import { create } from "@bufbuild/protobuf";
import type { Bus } from "@tailor/bus";
import { decodeEvent, Events } from "@tailor/bus";
import { type LoraJobSpec, type LoraJobStatus, LoraJobStatusSchema } from "@tailor/proto";
import { LoraWatchTimeoutError } from "./errors.js";
import { checkLoraSpec } from "./spec.js";

/** The states of `LoraJobStatus.state`, in the order a job goes through them. */
export const LORA_STATES = ["accepted", "running", "succeeded", "failed"] as const;
export type LoraState = (typeof LORA_STATES)[number];

/** CloudEvents source of the submissions and of the reference worker's statuses. */
export const LORA_SOURCE = "/tailor/lora";

export function isTerminalLoraState(state: string): boolean {
  return state === "succeeded" || state === "failed";
}

/** Nats-Msg-Id of a submission: one job id, one message inside the duplicate window. */
export function submissionMsgId(tenant: string, job: string): string {
  return `lora:${tenant}:${job}:submitted`;
}

/**
 * Nats-Msg-Id of a status: `lora:<tenant>:<job>:<state>[:<step>]`. A worker that runs a
 * redelivered job again publishes the same ids, so the broker drops the repeats inside its
 * duplicate window and a watcher sees each state (and each progress step) once.
 */
export function statusMsgId(tenant: string, job: string, state: LoraState, step = 0): string {
  return state === "running"
    ? `lora:${tenant}:${job}:running:${step}`
    : `lora:${tenant}:${job}:${state}`;
}

/** What submitLoraJob did. */
export interface Submitted {
  readonly subject: string;
  readonly seq: number;
  /** The broker had this job id already (a retried submit inside the duplicate window). */
  readonly duplicate: boolean;
}

/**
 * Validates every field of `spec` (FieldError naming the field otherwise) and publishes it on
 * `lora.<tenant>.submitted` with the job id as idempotency key.
 */
export async function submitLoraJob(bus: Bus, spec: LoraJobSpec): Promise<Submitted> {
  checkLoraSpec(spec);
  const subject = bus.subjects.lora(spec.tenant, "submitted");
  const ack = await bus.publish(subject, Events.loraSubmitted, spec, {
    id: submissionMsgId(spec.tenant, spec.job),
    source: LORA_SOURCE,
    subject: spec.job,
  });
  return { subject, seq: ack.seq, duplicate: ack.duplicate };
}

/** Publishes one status of a job on `lora.<tenant>.status` with its idempotent message id. */
export async function publishLoraStatus(
  bus: Bus,
  s: Omit<Partial<LoraJobStatus>, "$typeName" | "state"> & {
    tenant: string;
    job: string;
    state: LoraState;
  },
  idJob = s.job,
): Promise<void> {
  const status = create(LoraJobStatusSchema, s);
  await bus.publish(bus.subjects.lora(s.tenant, "status"), Events.loraStatus, status, {
    id: statusMsgId(s.tenant, idJob, s.state, s.step ?? 0),
    source: LORA_SOURCE,
    subject: s.job || idJob,
  });
}

export interface WatchOptions {
  /** Give up (LoraWatchTimeoutError) when no terminal status arrives in this long; default 10 min. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The statuses of one job, oldest first (from the start of the LORA stream, so a watcher that
 * starts late still sees them), ending after `succeeded` or `failed`. Statuses that do not
 * decode, or that name another job, are skipped.
 */
export async function* watchLoraJob(
  bus: Bus,
  tenant: string,
  job: string,
  o: WatchOptions = {},
): AsyncGenerator<LoraJobStatus> {
  const timeoutMs = o.timeoutMs ?? 600_000;
  const consumer = await bus.js.consumers.get(bus.subjects.stream("LORA"), {
    // One subject as a string: nats-server before 2.10 refuses the list form.
    filter_subjects: bus.subjects.lora(tenant, "status"),
  });
  const messages = await consumer.consume();
  let timedOut = false;
  let last = "";
  const stop = () => void messages.stop();
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, timeoutMs);
  o.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const m of messages) {
      let s: LoraJobStatus;
      try {
        s = decodeEvent(Events.loraStatus, m);
      } catch {
        continue;
      }
      if (s.job !== job || s.tenant !== tenant) continue;
      last = s.state;
      yield s;
      if (isTerminalLoraState(s.state)) return;
    }
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", stop);
    stop();
  }
  o.signal?.throwIfAborted();
  if (timedOut) throw new LoraWatchTimeoutError(tenant, job, timeoutMs, last);
  throw new Error(`lora job ${tenant}/${job}: the status stream ended before a terminal status`);
}
