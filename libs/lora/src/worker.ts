import { hostname } from "node:os";
import type { JsMsg } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { type Bus, DurableConsumer, decodeEvent, Events, isValidToken } from "@tailor/bus";
import type { Logger } from "@tailor/telemetry";
import type { LoraArtifacts } from "./artifact-target.js";
import { isLoraJobError } from "./errors.js";
import { DEFAULT_REFERENCE_LIMITS, type ReferenceLimits, runLoraJob } from "./job.js";
import { publishLoraStatus } from "./protocol.js";
import { loraSpecProblem } from "./spec.js";

export interface ReferenceLoraWorkerOptions {
  readonly bus: Bus;
  readonly artifacts: LoraArtifacts;
  /** The Object Store bucket datasets are read from, and its name (a spec must name it). */
  readonly datasets: ObjectStore;
  readonly datasetBucket: string;
  /** Scratch space for merged folders before they are published. */
  readonly workDir: string;
  readonly logger: Logger;
  /** Shown in every status as `worker`; default `reference-<host>-<pid>`. */
  readonly worker?: string;
  /** The broker redelivers a job whose worker sent no ack or heartbeat for this long; default 60 s. */
  readonly ackWaitMs?: number;
  /** Deliveries of a job that fails for infrastructure reasons before it is given up; default 5. */
  readonly maxDeliver?: number;
  /** Steps between progress statuses; default a twentieth of the job's steps. */
  readonly reportEvery?: number;
  readonly limits?: Partial<ReferenceLimits>;
}

/** What the worker did since it started (for tests and metrics). */
export interface WorkerStats {
  trained: number;
  /** Deliveries of a job whose artifact already existed: answered without training. */
  reused: number;
  failed: number;
}

/**
 * A CPU reference implementation of the LoRA worker side of the contract (see docs/lora.md): it
 * claims jobs from the durable pull consumer `lora-worker` on `lora.*.submitted`, one at a time,
 * keeps the claim alive with `working()` while it trains, answers on `lora.<tenant>.status` and
 * acks only once the job has an outcome. It adapts only the tiny Llama decoders the project
 * generates for tests; it is a reference for the protocol, not a GPU trainer.
 */
export class ReferenceLoraWorker {
  static readonly DURABLE = "lora-worker";
  readonly stats: WorkerStats = { trained: 0, reused: 0, failed: 0 };
  readonly worker: string;
  private readonly consumer: DurableConsumer;
  private readonly ackWaitMs: number;
  private readonly abort = new AbortController();

  constructor(private readonly o: ReferenceLoraWorkerOptions) {
    this.worker = o.worker ?? `reference-${hostname()}-${process.pid}`;
    this.ackWaitMs = o.ackWaitMs ?? 60_000;
    this.consumer = new DurableConsumer(o.bus, {
      stream: "LORA",
      durable: ReferenceLoraWorker.DURABLE,
      filterSubject: `${o.bus.subjects.subjectPrefix}lora.*.submitted`,
      maxDeliver: o.maxDeliver ?? 5,
      concurrency: 1,
      ackWaitMs: this.ackWaitMs,
      logger: o.logger,
    });
  }

  async start(): Promise<void> {
    await this.consumer.start((m) => this.handle(m));
  }

  /** Stops claiming jobs; a job in training is abandoned (naked), so another worker redoes it. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.consumer.stop();
  }

  private async handle(m: JsMsg): Promise<void> {
    const bus = this.o.bus;
    const subjectTenant = bus.subjects.tenantOf(m.subject, "lora");
    // Undecodable bytes have no job to answer: the consumer dead-letters them.
    const spec = decodeEvent(Events.loraSubmitted, m);
    if (subjectTenant === undefined) return;
    const job = isValidToken(spec.job) ? spec.job : "";
    // Without a usable job id the status is keyed by the stream sequence, so it is still unique.
    const idJob = job || `seq-${m.seq}`;
    const log = this.o.logger.child({ tenant: subjectTenant, job: idJob });
    const fail = async (error: string) => {
      this.stats.failed++;
      log.warn({ error }, "lora job failed");
      await publishLoraStatus(
        bus,
        { tenant: subjectTenant, job, state: "failed", error, worker: this.worker },
        idJob,
      );
    };
    if (spec.tenant !== subjectTenant)
      return fail(
        `tenant: ${JSON.stringify(spec.tenant.slice(0, 128))} is not the subject's tenant ${subjectTenant}`,
      );
    const problem = loraSpecProblem(spec);
    if (problem) return fail(`${problem.field}: ${problem.reason}`);

    const base = { tenant: spec.tenant, job: spec.job, worker: this.worker };
    await publishLoraStatus(bus, { ...base, state: "accepted" });
    log.info(
      { base_model: spec.baseModel, steps: spec.steps, delivery: m.info.deliveryCount },
      "lora job accepted",
    );
    // Training blocks between steps only briefly, so this timer keeps the claim alive.
    const heartbeat = setInterval(
      () => m.working(),
      Math.max(1000, Math.floor(this.ackWaitMs / 3)),
    );
    try {
      const result = await runLoraJob(spec, {
        artifacts: this.o.artifacts,
        datasets: this.o.datasets,
        datasetBucket: this.o.datasetBucket,
        workDir: this.o.workDir,
        worker: this.worker,
        limits: { ...DEFAULT_REFERENCE_LIMITS, ...this.o.limits },
        ...(this.o.reportEvery ? { reportEvery: this.o.reportEvery } : {}),
        signal: this.abort.signal,
        onProgress: (step, loss) =>
          publishLoraStatus(bus, {
            ...base,
            state: "running",
            step,
            loss,
            progress: step / spec.steps,
          }),
      });
      if (result.reused) this.stats.reused++;
      else this.stats.trained++;
      await publishLoraStatus(bus, {
        ...base,
        state: "succeeded",
        progress: 1,
        step: spec.steps,
        loss: result.loss,
        artifact: result.artifact,
      });
      log.info(
        { artifact: result.artifact, reused: result.reused, loss: result.loss },
        "lora job succeeded",
      );
    } catch (err) {
      if (isLoraJobError(err)) return fail(err.message);
      // Infrastructure trouble: let the consumer retry; on the last delivery say so first.
      if (!this.abort.signal.aborted && m.info.deliveryCount >= this.consumer.maxDeliver)
        await fail(
          `gave up after ${m.info.deliveryCount} deliveries: ${(err as Error).message}`,
        ).catch(() => {});
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }
}
