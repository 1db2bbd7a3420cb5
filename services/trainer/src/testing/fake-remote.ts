import { appendFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { publishArtifact } from "@tailor/artifacts";
import { mulberry32 } from "@tailor/models/random";
import {
  type EvalSet,
  EvalSetSchema,
  type GeneratorSpec,
  type Lineage,
  type ListedChunk,
  ListedChunkSchema,
  type ModelVersion,
  ModelVersionSchema,
  type RetrievalSpec,
  RetrievalSpecSchema,
  SearchHitSchema,
  type SearchResponse,
  SearchResponseSchema,
} from "@tailor/proto";
import type { Remote } from "../data/remote.js";

/**
 * Stand-ins for the other services, deterministic, for tests of the trainer's own logic (jobs,
 * checkpoints, resumption); PostgreSQL and NATS stay real. The corpus has topics: a document's
 * title and text draw words from its topic, queries too, and a query's relevant documents are
 * those of its topic, so every kind has something to learn.
 */
export interface FakeRemoteOptions {
  docs?: number;
  dims?: number;
  topics?: number;
  /** Registered specs are appended here as JSON lines (a child process reports through it). */
  registeredFile?: string;
  artifactRoot: string;
}

const WORDS_PER_TOPIC = 40;

export class FakeRemote implements Remote {
  readonly registered: {
    spec: RetrievalSpec;
    lineage: Lineage;
    version: string;
    generator?: GeneratorSpec;
  }[] = [];
  readonly rejected: string[] = [];
  readonly promoted: string[] = [];
  readonly built: string[] = [];
  /** Wait this long in every Embed call (to catch a job mid-way). */
  embedDelayMs = 0;
  private readonly chunks: ListedChunk[];
  private readonly set: EvalSet;
  private readonly dims: number;
  private readonly topicOf = new Map<string, number>();
  private next = 2;

  constructor(private readonly o: FakeRemoteOptions) {
    const docs = o.docs ?? 400;
    const topics = o.topics ?? 20;
    this.dims = o.dims ?? 32;
    const rng = mulberry32(1234);
    const word = (t: number) => `w${t}x${Math.floor(rng() * WORDS_PER_TOPIC)}`;
    const noise = () => `n${Math.floor(rng() * 500)}`;
    const words = (t: number, n: number) =>
      Array.from({ length: n }, () => (rng() < 0.7 ? word(t) : noise())).join(" ");
    const chunks: ListedChunk[] = [];
    for (let d = 0; d < docs; d++) {
      const t = d % topics;
      const id = `doc${d}`;
      this.topicOf.set(id, t);
      const chunkId = ((d * 2654435761) >>> 0).toString(16).padStart(32, "0");
      chunks.push(
        create(ListedChunkSchema, {
          chunkId,
          source: "s",
          documentId: id,
          title: words(t, 4),
          index: 0,
          text: words(t, 40),
          documentVersion: "v1",
        }),
      );
    }
    this.chunks = chunks.sort((a, b) => (a.chunkId < b.chunkId ? -1 : 1));
    this.set = create(EvalSetSchema, {
      tenant: "",
      name: "train",
      hash: "fake-eval-set",
      queries: Array.from({ length: topics }, (_, t) => ({
        id: `q${t}`,
        text: words(t, 5),
        judgments: Object.fromEntries(
          [...this.topicOf].filter(([, tt]) => tt === t).map(([id]) => [id, 1]),
        ),
      })),
    });
  }

  async getEvalSet(tenant: string, name: string): Promise<EvalSet> {
    if (name === "missing") throw new ConnectError(`eval set ${name} not found`, Code.NotFound);
    // A question/answer set: every query of the train set with a reference answer.
    if (name === "qa")
      return create(EvalSetSchema, {
        tenant,
        name,
        queries: this.set.queries.map((q) => ({ id: q.id, text: q.text, answer: `topic ${q.id}` })),
        queryCount: this.set.queries.length,
      });
    if (name === "unjudged")
      return create(EvalSetSchema, { tenant, name, queries: [{ id: "1", text: "x" }] });
    return create(EvalSetSchema, {
      ...this.set,
      tenant,
      name,
      queryCount: this.set.queries.length,
      judgedQueryCount: this.set.queries.length,
    });
  }

  async *listChunks(): AsyncIterable<ListedChunk[]> {
    for (let i = 0; i < this.chunks.length; i += 100) yield this.chunks.slice(i, i + 100);
  }

  async getVersion(tenant: string, version: string): Promise<ModelVersion> {
    if (version === "generator@v1" || version === "generator@v2")
      return this.generator(tenant, version);
    if (version !== "retrieval@v1")
      throw new ConnectError(`version ${version} not found`, Code.NotFound);
    return this.base(tenant);
  }

  async resolveAlias(tenant: string, model = "retrieval"): Promise<ModelVersion | undefined> {
    if (model === "generator") return this.generator(tenant, "generator@v1");
    return this.base(tenant);
  }

  /** generator@v1: an onnx decoder (`tiny-llama@1`) at prod; generator@v2: extractive. */
  private generator(tenant: string, version: string): ModelVersion {
    return create(ModelVersionSchema, {
      tenant,
      model: "generator",
      version,
      generator:
        version === "generator@v1"
          ? {
              kind: "onnx",
              model: "tiny-llama@1",
              promptTemplate: "C: {{context}}\nQ: {{question}}\nA:",
              maxTokens: 16,
            }
          : { kind: "extractive" },
    });
  }

  private base(tenant: string): ModelVersion {
    return create(ModelVersionSchema, {
      tenant,
      model: "retrieval",
      version: "retrieval@v1",
      spec: create(RetrievalSpecSchema, {
        embedder: "fake@1",
        bm25K1: 0.9,
        bm25B: 0.4,
        rm3Docs: 10,
        rm3Terms: 10,
        rm3Weight: 0.5,
        denseWeight: 0.2,
        candidates: 100,
      }),
    });
  }

  /** Hybrid hits carry features: `signal` follows relevance, `noise` does not. */
  async search(req: {
    query?: string;
    k?: number;
    mode?: number;
    version?: string;
  }): Promise<SearchResponse> {
    const q = this.set.queries.find((x) => x.text === req.query);
    const topic = q ? Number(q.id.slice(1)) : -1;
    const rng = mulberry32(topic + 99);
    const hits = this.chunks.slice(0, req.k ?? 10).map((c, i) => {
      const rel = this.topicOf.get(c.documentId) === topic ? 1 : 0;
      return create(SearchHitSchema, {
        chunkId: c.chunkId,
        documentId: c.documentId,
        title: c.title,
        text: c.text,
        score: 1 / (i + 1),
        denseScore: rng(),
        features: { signal: rel + rng() * 0.8, noise: rng(), fused: 1 / (i + 1) },
      });
    });
    return create(SearchResponseSchema, {
      hits,
      modelVersion: "fake@1",
      version: req.version || "retrieval@v1",
    });
  }

  /** Averaged seeded word vectors, L2-normalised: the same text always gets the same bits. */
  async embed(_embedder: string, texts: string[], signal?: AbortSignal) {
    if (this.embedDelayMs > 0) await sleep(this.embedDelayMs, undefined, { signal });
    const d = this.dims;
    const out = new Float32Array(texts.length * d);
    texts.forEach((t, i) => {
      const v = new Float64Array(d);
      for (const w of t.split(/\s+/)) {
        let h = 2166136261;
        for (let k = 0; k < w.length; k++) h = Math.imul(h ^ w.charCodeAt(k), 16777619);
        const r = mulberry32(h >>> 0);
        for (let k = 0; k < d; k++) v[k] = v[k]! + (r() - 0.5);
      }
      const n = Math.hypot(...v) || 1;
      for (let k = 0; k < d; k++) out[i * d + k] = v[k]! / n;
    });
    return { vectors: out, dimensions: d };
  }

  async publishModel(dir: string, name: string, version: string): Promise<void> {
    await publishArtifact(dir, name, version, { root: this.o.artifactRoot });
  }

  async loadModel(name: string, version: string): Promise<string> {
    return `${name}@${version}`;
  }

  async buildIndexVersion(_tenant: string, modelVersion: string): Promise<void> {
    this.built.push(modelVersion);
  }

  async registerVersion(
    tenant: string,
    model: string,
    spec: RetrievalSpec | undefined,
    lineage: Lineage,
    _signal?: AbortSignal,
    generator?: GeneratorSpec,
  ): Promise<ModelVersion> {
    if (model === "generator") {
      const version = `generator@v${this.next++}`;
      this.registered.push({ spec: create(RetrievalSpecSchema), lineage, version, generator });
      return create(ModelVersionSchema, { tenant, model, version, lineage, generator });
    }
    if (!spec)
      throw new ConnectError("spec: is required for model retrieval", Code.InvalidArgument);
    const version = `retrieval@v${this.next++}`;
    this.registered.push({ spec, lineage, version });
    if (this.o.registeredFile)
      appendFileSync(
        this.o.registeredFile,
        `${JSON.stringify({ tenant, version, embedder: spec.embedder, job: lineage.trainingJob, datasetHash: lineage.datasetHash })}\n`,
      );
    return create(ModelVersionSchema, { tenant, model: "retrieval", version, spec, lineage });
  }

  async rejectVersion(_tenant: string, version: string): Promise<void> {
    this.rejected.push(version);
  }

  async promote(_tenant: string, version: string): Promise<void> {
    this.promoted.push(version);
  }
}
