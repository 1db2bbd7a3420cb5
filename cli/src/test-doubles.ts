import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  AliasSchema,
  EvalSetSchema,
  EvaluatorService,
  type Job,
  JobSchema,
  JobState,
  ModelVersionSchema,
  RegistryService,
  RetrievalService,
  SearchHitSchema,
  TrainerService,
  VersionState,
} from "@tailor/proto";

/**
 * Test doubles of our own registry, trainer, evaluator and retrieval services, served over h2c
 * like the real ones, so the CLI's client side (requests, streams, errors) runs for real.
 * Training scenarios are chosen by the eval set's name: ok, fail, flaky, slow.
 */
export interface Doubles {
  url: string;
  calls: { method: string; req: Record<string, unknown> }[];
  close(): Promise<void>;
}

const VERSIONS: Record<string, string> = { prod: "retrieval@v1", canary: "retrieval@v3" };

export async function startDoubles(): Promise<Doubles> {
  const calls: Doubles["calls"] = [];
  const jobs = new Map<string, Job>();
  const watched = new Map<string, number>();
  const seen = (method: string, req: object) =>
    calls.push({ method, req: req as Record<string, unknown> });
  const at = (req: { version: string; alias: string }) =>
    req.version || VERSIONS[req.alias || "prod"] || "retrieval@v1";
  const version = (tenant: string, name: string) =>
    create(ModelVersionSchema, {
      tenant,
      model: "retrieval",
      version: name,
      state: VersionState.PROMOTED,
      createdAt: "2026-11-30T16:00:00Z",
      aliases: name === "retrieval@v1" ? ["prod"] : [],
      spec: {
        embedder: "e5-small@abc",
        bm25K1: 0.9,
        bm25B: 0.4,
        denseWeight: 0.6,
        candidates: 100,
      },
      lineage: {
        parentVersion: "retrieval@v1",
        trainingJob: "job-7",
        datasetHash: "sha256:feed",
        kind: "all",
        artifacts: ["adapter@1"],
        reports: ["rep-3"],
        seed: 42n,
      },
    });

  const routes = connectNodeAdapter({
    routes: (router) => {
      router.service(EvaluatorService, {
        importTrec(req) {
          seen("importTrec", req);
          const ids = req.topics.split("\n").filter((l) => l.trim());
          return {
            evalSet: {
              tenant: req.tenant,
              name: req.name,
              queryCount: ids.length,
              judgedQueryCount: 1,
              hash: "h-trec",
            },
          };
        },
        importJsonl(req) {
          seen("importJsonl", req);
          return {
            evalSet: { tenant: req.tenant, name: req.name, queryCount: 1, hash: "h-jsonl" },
          };
        },
        listEvalSets(req) {
          seen("listEvalSets", req);
          return {
            evalSets: [
              create(EvalSetSchema, {
                tenant: req.tenant,
                name: "train",
                queryCount: 2,
                judgedQueryCount: 2,
                hash: "h1",
              }),
            ],
          };
        },
        evaluate(req) {
          seen("evaluate", req);
          if (req.evalSet === "missing")
            throw new ConnectError("eval_set: no eval set missing", Code.NotFound);
          return {
            run: "run-1",
            version: at(req),
            evalSet: req.evalSet,
            report: "rep-1",
            metrics: {
              values: { ndcg_cut_10: 0.4, map: 0.3 },
              latencyP50Ms: 5,
              latencyP95Ms: 9,
              queries: 2,
            },
          };
        },
      });
      router.service(TrainerService, {
        startTraining(req) {
          seen("startTraining", req);
          const job = create(JobSchema, {
            tenant: req.tenant,
            id: `job-${jobs.size + 1}`,
            kind: req.kind,
            evalSet: req.evalSet,
            baseVersion: req.baseVersion || "retrieval@v1",
            seed: req.seed || 1n,
            state: JobState.QUEUED,
          });
          jobs.set(job.id, job);
          return { job };
        },
        getJob(req) {
          seen("getJob", req);
          const job = jobs.get(req.id);
          if (!job || job.tenant !== req.tenant)
            throw new ConnectError(`no job ${req.id}`, Code.NotFound);
          return { job };
        },
        cancelJob(req) {
          seen("cancelJob", req);
          const job = jobs.get(req.id);
          if (!job) throw new ConnectError(`no job ${req.id}`, Code.NotFound);
          job.state = JobState.CANCELLED;
          return { job };
        },
        listJobs(req) {
          seen("listJobs", req);
          return { jobs: [...jobs.values()].filter((j) => j.tenant === req.tenant) };
        },
        async *watchJob(req, ctx: HandlerContext) {
          seen("watchJob", req);
          const job = jobs.get(req.id);
          if (!job) throw new ConnectError(`no job ${req.id}`, Code.NotFound);
          const n = (watched.get(job.id) ?? 0) + 1;
          watched.set(job.id, n);
          const step = async (over: Partial<Job>) => {
            Object.assign(job, over);
            await new Promise((r) => setTimeout(r, 20));
            return { job };
          };
          yield await step({});
          switch (job.evalSet) {
            case "fail":
              yield await step({ state: JobState.RUNNING, progress: 0.2, stage: "reranker" });
              yield await step({
                state: JobState.FAILED,
                error: "eval set fail has no judged queries",
              });
              return;
            case "flaky":
              if (n === 1) {
                yield await step({ state: JobState.RUNNING, progress: 0.3, stage: "epoch 1/2" });
                throw new ConnectError("trainer restarting", Code.Unavailable);
              }
              break;
            case "slow":
              yield await step({ state: JobState.RUNNING, progress: 0.1, stage: "epoch 1/20" });
              await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
              return;
          }
          yield await step({ state: JobState.RUNNING, progress: 0.5, stage: "epoch 2/2" });
          yield await step({
            state: JobState.SUCCEEDED,
            progress: 1,
            stage: "registered",
            version: "retrieval@v2",
            datasetHash: "sha256:beef",
            metrics: { train_loss: 0.25 },
          });
        },
      });
      router.service(RegistryService, {
        listRegisteredModels(req) {
          seen("listRegisteredModels", req);
          return {
            models: [
              {
                model: "retrieval",
                versions: 3,
                latestVersion: "retrieval@v3",
                aliases: [
                  create(AliasSchema, { name: "prod", version: "retrieval@v1", weight: 1 }),
                  create(AliasSchema, { name: "canary", version: "retrieval@v3", weight: 0.1 }),
                ],
              },
            ],
          };
        },
        getVersion(req) {
          seen("getVersion", req);
          if (req.version === "retrieval@v9")
            throw new ConnectError("no version retrieval@v9", Code.NotFound);
          return { version: version(req.tenant, req.version) };
        },
        resolveAlias(req) {
          seen("resolveAlias", req);
          const v = VERSIONS[req.alias] ?? "";
          return {
            alias: { name: req.alias, version: v, weight: req.alias === "canary" ? 0.1 : 1 },
            version: version(req.tenant, v),
          };
        },
        listVersions(req) {
          seen("listVersions", req);
          return {
            versions: [version(req.tenant, "retrieval@v2"), version(req.tenant, "retrieval@v1")],
          };
        },
        promote(req) {
          seen("promote", req);
          return {
            alias: {
              name: req.alias,
              version: req.version,
              weight: req.alias === "prod" ? 1 : req.weight,
            },
            previousVersion: "retrieval@v1",
          };
        },
        rollback(req) {
          seen("rollback", req);
          return {
            alias: { name: req.alias, version: "retrieval@v1", weight: 1 },
            rolledBackVersion: "retrieval@v2",
          };
        },
      });
      router.service(RetrievalService, {
        search(req) {
          seen("search", req);
          const v = at(req);
          return {
            version: v,
            modelVersion: "e5-small@abc",
            hits: [1, 2].map((i) =>
              create(SearchHitSchema, {
                chunkId: `c${i}`,
                documentId: `d${i}`,
                source: "s",
                title: `T${i}`,
                text: "text",
                score: 1 / i,
                modelVersion: "e5-small@abc",
              }),
            ),
          };
        },
      });
    },
  });
  const server = http2.createServer(routes);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
