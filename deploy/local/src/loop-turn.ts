import { setTimeout as delay } from "node:timers/promises";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type Bus, publishDataEvent } from "@tailor/bus";
import { type CisiCollection, loadCisi } from "@tailor/eval";
import {
  EvaluatorService,
  type Job,
  JobState,
  type ModelVersion,
  RegistryService,
  type Report,
  RetrievalService,
  TrainerService,
  VersionState,
} from "@tailor/proto";

/**
 * One turn of the customisation loop on CISI, driven only through the services' public RPCs and
 * the data events a source system would publish: ingest, eval sets (odd judged queries train,
 * even ones held out), baseline, a target the baseline misses (→ eval.regressed →
 * training.requested), training, the gate on the held-out queries, promotion or rejection.
 * The demo, the loop test and the flywheel benchmark share it.
 */
export const CISI_TENANT = "cisi";
export const CISI_SOURCE = "abstracts";
export const TRAIN_SET = "cisi-train";
export const HELDOUT_SET = "cisi-heldout";
export const MODEL = "retrieval";

export interface LoopClients {
  retrieval: Client<typeof RetrievalService>;
  evaluator: Client<typeof EvaluatorService>;
  registry: Client<typeof RegistryService>;
  trainer: Client<typeof TrainerService>;
}

/** gRPC clients of the loop's services from their base URLs. */
export function loopClients(url: (service: keyof LoopClients) => string): LoopClients {
  const t = (s: keyof LoopClients) => createGrpcTransport({ baseUrl: url(s) });
  return {
    retrieval: createClient(RetrievalService, t("retrieval")),
    evaluator: createClient(EvaluatorService, t("evaluator")),
    registry: createClient(RegistryService, t("registry")),
    trainer: createClient(TrainerService, t("trainer")),
  };
}

/** Publishes the CISI abstracts as data events and waits until all are searchable. */
export async function ingestCisi(
  bus: Bus,
  c: LoopClients,
  o: { cisi?: CisiCollection; tenant?: string; timeoutMs?: number } = {},
): Promise<{ documents: number; ms: number }> {
  const cisi = o.cisi ?? loadCisi();
  const tenant = o.tenant ?? CISI_TENANT;
  const t0 = Date.now();
  const window = new Set<Promise<unknown>>();
  for (const d of cisi.docs) {
    if (window.size >= 128) await Promise.race(window);
    const p = publishDataEvent(bus, tenant, CISI_SOURCE, "upsert", {
      id: d.id,
      title: d.title,
      text: d.text,
    }).finally(() => window.delete(p));
    window.add(p);
  }
  await Promise.all(window);
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  for (;;) {
    const s = await c.retrieval.stats({ tenant });
    if (Number(s.documents) >= cisi.docs.length && Number(s.vectors) >= Number(s.chunks))
      return { documents: Number(s.documents), ms: Date.now() - t0 };
    if (Date.now() > deadline)
      throw new Error(`CISI not searchable after ${o.timeoutMs ?? 600_000} ms`);
    await delay(250);
  }
}

/** The two files `tailor evalset import` reads, for the judged queries of one parity. */
export function cisiTrecFiles(
  cisi: CisiCollection,
  parity: "odd" | "even" | "all",
): { topics: string; qrels: string } {
  const keep = (id: string) => parity === "all" || (Number(id) % 2 === 1) === (parity === "odd");
  const judged = cisi.queries.filter((q) => cisi.qrels.has(q.id) && keep(q.id));
  return {
    topics: judged.map((q) => `${q.id}\t${q.text.replace(/\s+/g, " ").trim()}`).join("\n"),
    qrels: judged
      .flatMap((q) => [...(cisi.qrels.get(q.id) ?? [])].map((d) => `${q.id} 0 ${d} 1`))
      .join("\n"),
  };
}

/** Imports (or replaces) the train (odd) and held-out (even) eval sets. */
export async function importCisiEvalSets(
  c: LoopClients,
  o: { cisi?: CisiCollection; tenant?: string } = {},
): Promise<void> {
  const cisi = o.cisi ?? loadCisi();
  const tenant = o.tenant ?? CISI_TENANT;
  for (const [name, parity] of [
    [TRAIN_SET, "odd"],
    [HELDOUT_SET, "even"],
  ] as const) {
    const f = cisiTrecFiles(cisi, parity);
    await c.evaluator.importTrec({ tenant, name, ...f, replace: true });
  }
}

export interface TurnResult {
  baseline: { version: string; ndcg10: number; map: number };
  job: Job;
  candidate: ModelVersion;
  report?: Report;
  promoted: boolean;
  /** What prod points at when the turn ends. */
  prod: string;
  ms: { training: number; total: number };
}

/**
 * Baseline on the held-out set, then a target above it: the evaluation that misses it emits
 * eval.regressed and training.requested; waits for the job and for the gate's verdict.
 */
export async function loopTurn(
  c: LoopClients,
  o: {
    kind: string;
    tenant?: string;
    /** How far above the baseline the tenant's target sits (default 0.02 nDCG@10). */
    targetGain?: number;
    log?: (line: string) => void;
    onJob?: (job: Job) => void;
    timeoutMs?: number;
  },
): Promise<TurnResult> {
  const tenant = o.tenant ?? CISI_TENANT;
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const deadline = t0 + (o.timeoutMs ?? 900_000);
  await servableProd(c, tenant, log);
  // No target while the baseline is measured (a target left by an earlier turn would trigger).
  await c.evaluator.setThresholds({ tenant, minimums: {}, evalSet: HELDOUT_SET });
  const base = await c.evaluator.evaluate({ tenant, evalSet: HELDOUT_SET, alias: "prod" });
  const v = base.metrics?.values ?? {};
  const baseline = {
    version: base.version,
    ndcg10: v["ndcg_cut_10"] ?? 0,
    map: v["map"] ?? 0,
  };
  log(
    `baseline ${baseline.version} on ${HELDOUT_SET}: nDCG@10 ${baseline.ndcg10.toFixed(3)}, MAP ${baseline.map.toFixed(3)}`,
  );
  const before = new Set((await c.trainer.listJobs({ tenant, limit: 1000 })).jobs.map((j) => j.id));
  const target = baseline.ndcg10 + (o.targetGain ?? 0.02);
  await c.evaluator.setThresholds({
    tenant,
    minimums: { ndcg_cut_10: target },
    evalSet: HELDOUT_SET,
    trainEvalSet: TRAIN_SET,
    kind: o.kind,
  });
  log(`target nDCG@10 ≥ ${target.toFixed(3)}: evaluating prod against it`);
  await c.evaluator.evaluate({ tenant, evalSet: HELDOUT_SET, alias: "prod" });
  let job: Job | undefined;
  while (!job) {
    if (Date.now() > deadline) throw new Error("no training job started after eval.regressed");
    job = (await c.trainer.listJobs({ tenant, limit: 1000 })).jobs.find((j) => !before.has(j.id));
    if (!job) await delay(200);
  }
  log(`eval.regressed → training.requested → job ${job.id} (${job.kind})`);
  const tTrain = Date.now();
  for await (const r of c.trainer.watchJob({ tenant, id: job.id })) {
    if (!r.job) continue;
    job = r.job;
    o.onJob?.(job);
    if ([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(job.state as JobState))
      break;
  }
  const trainingMs = Date.now() - tTrain;
  if (job.state !== JobState.SUCCEEDED)
    throw new Error(`training job ${job.id} ended ${JobState[job.state]}: ${job.error}`);
  log(`trained ${job.version} in ${(trainingMs / 1000).toFixed(1)} s`);
  let candidate: ModelVersion | undefined;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no verdict on ${job.version}`);
    candidate = (await c.registry.getVersion({ tenant, version: job.version })).version;
    const judged = candidate && candidate.state !== VersionState.CANDIDATE;
    const prodNow = await c.registry.resolveAlias({ tenant, model: MODEL, alias: "prod" });
    if (
      judged &&
      (candidate!.state === VersionState.REJECTED || prodNow.alias?.version === job.version)
    )
      break;
    await delay(250);
  }
  const reports = (await c.evaluator.listReports({ tenant, limit: 50 })).reports;
  const report = reports.find((r) => r.version === job.version && r.verdict !== "");
  const prod = (await c.registry.resolveAlias({ tenant, model: MODEL, alias: "prod" })).alias
    ?.version;
  return {
    baseline,
    job,
    candidate: candidate!,
    report,
    promoted: candidate!.state === VersionState.PROMOTED,
    prod: prod ?? "",
    ms: { training: trainingMs, total: Date.now() - t0 },
  };
}

/**
 * The registry lives in PostgreSQL, the indexes and adapters under TAILOR_DATA_DIR: a data dir
 * started afresh against a kept database (another checkout, a wiped `.tailor`) finds `prod` at a
 * version whose index is not here. Retrieval refuses to search it (FAILED_PRECONDITION) rather
 * than answer from another vector space; the turn then points `prod` back at the base version,
 * which every data dir can serve, and says so.
 */
async function servableProd(c: LoopClients, tenant: string, log: (line: string) => void) {
  try {
    await c.retrieval.search({ tenant, query: "probe", k: 1, alias: "prod" });
    return;
  } catch (err) {
    if (ConnectError.from(err).code !== Code.FailedPrecondition) throw err;
    const versions = (await c.registry.listVersions({ tenant, model: MODEL })).versions;
    const base = versions.find((v) => v.lineage?.kind === "base") ?? versions.at(-1);
    if (!base) throw err;
    log(
      `prod cannot be searched here (${ConnectError.from(err).rawMessage}); pointing it back at the base ${base.version}`,
    );
    await c.registry.promote({
      tenant,
      version: base.version,
      alias: "prod",
      reason: "the index version of the former prod is not in this data dir",
    });
  }
}
