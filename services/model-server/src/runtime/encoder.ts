import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type EncodedRow,
  type HfFolder,
  HfTokenizer,
  l2NormalizeInPlace,
  loadHfFolder,
  ModelLoadError,
  type PoolingMode,
  poolTokenVectors,
  sigmoid,
  softmax,
} from "@tailor/models";
import { createLogger } from "@tailor/telemetry";
import * as ort from "onnxruntime-node";
import type { ExecutionProvider } from "./execution-provider.js";

const log = createLogger("model-server");

/** Kinds of model {@link EncoderModel} runs. */
export type EncoderKind = "embedder" | "reranker" | "classifier" | "adapter";

/** Options of {@link EncoderModel.load}. */
export interface EncoderLoadOptions {
  /** Already vetted by `chooseExecutionProvider`; an absent provider makes onnxruntime throw. */
  readonly executionProvider?: ExecutionProvider;
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
  /** The embedder an adapter runs after; required for adapters, ignored otherwise. */
  readonly base?: AdapterBase;
  /** Overrides the name (default: config.json `name`, else the folder name). */
  readonly name?: string;
  /** Overrides the version (default: config.json `version`, else a content hash). */
  readonly version?: string;
  /** Caps tokens per text (default: the tokenizer's model_max_length / max positions). */
  readonly maxLength?: number;
  /** Most texts per model call (default 32). */
  readonly maxBatchTexts?: number;
  /** Most padded tokens (batch × longest) per model call (default 16,384). */
  readonly maxBatchTokens?: number;
}

/**
 * What an adapter runs after: any embedder (an HF encoder, the built-in GloVe embedder, or
 * another adapter) whose sentence vectors the adapter transforms. The vectors it feeds are the
 * base's final ones (pooled and, as the base is configured, L2-normalised): exactly what the
 * base's Embed answers, and so what a trainer that embedded its pairs through Embed trained on.
 */
export interface AdapterBase {
  readonly kind: EncoderKind;
  readonly name: string;
  readonly version: string;
  readonly dimensions: number;
  /** Tokens per text after truncation. */
  readonly maxLength: number;
  embed(texts: readonly string[]): Promise<EncoderEmbedResult>;
  tokenize(
    texts: readonly string[],
    opts?: { pairs?: readonly string[]; addSpecialTokens?: boolean },
  ): TokenizedText[];
}

/** Output of {@link EncoderModel.embed}. */
export interface EncoderEmbedResult {
  /** n × dimensions, row-major; L2-normalised rows unless the model's config says otherwise. */
  readonly vectors: Float32Array;
  /** Tokens the model saw per text after truncation, special tokens included. */
  readonly tokenCounts: Uint32Array;
}

/** One label's score from {@link EncoderModel.classify}. */
export interface LabelScore {
  readonly label: string;
  /** Softmax probability, or sigmoid for multi-label models. */
  readonly score: number;
}

/** One text's tokens from {@link EncoderModel.tokenize}. */
export interface TokenizedText {
  readonly ids: number[];
  readonly tokens: string[];
}

/** A call asked a model for something its kind cannot do (e.g. rerank with an embedder). */
export class ModelKindError extends Error {
  override readonly name = "ModelKindError";
  readonly code = "wrong_model_kind";
}

const DEFAULT_MAX_BATCH_TEXTS = 32;
const DEFAULT_MAX_BATCH_TOKENS = 16_384;
// Rough V8 cost of one vocabulary entry (Map slot + short string), for capacity planning only.
const BYTES_PER_VOCAB_ENTRY = 64;
const KNOWN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"]);

/**
 * A Hugging Face-layout encoder on onnxruntime: BERT-style embedders (pooled `last_hidden_state`),
 * cross-encoder rerankers, sequence classifiers, and embedding adapters chained after a base
 * embedder. Texts are sorted by length into sub-batches so padding stays small.
 */
export class EncoderModel {
  readonly kind: EncoderKind;
  readonly name: string;
  readonly version: string;
  /** Output vector size for embedders and adapters; number of labels for classifiers; 1 for rerankers. */
  readonly dimensions: number;
  /** Classifier labels by id; empty for other kinds. */
  readonly labels: readonly string[];
  /** Model weights plus tokenizer estimate; excludes per-call activations and the base of an adapter. */
  readonly memoryBytes: number;
  readonly executionProvider: ExecutionProvider;
  readonly pooling: PoolingMode;
  readonly normalize: boolean;
  private readonly session: ort.InferenceSession;
  private readonly tokenizer: HfTokenizer | null;
  private readonly base: AdapterBase | null;
  private readonly outputName: string;
  private readonly feedTokenTypes: boolean;
  private readonly multiLabel: boolean;
  private readonly maxBatchTexts: number;
  private readonly maxBatchTokens: number;

  private constructor(
    folder: HfFolder,
    session: ort.InferenceSession,
    tokenizer: HfTokenizer | null,
    fields: { name: string; version: string; dimensions: number; outputName: string },
    ep: ExecutionProvider,
    opts: EncoderLoadOptions,
  ) {
    this.kind = folder.kind as EncoderKind;
    this.name = fields.name;
    this.version = fields.version;
    this.dimensions = fields.dimensions;
    this.outputName = fields.outputName;
    this.labels = folder.kind === "classifier" ? folder.labels : [];
    this.multiLabel = folder.multiLabel;
    this.pooling = folder.pooling;
    this.normalize = folder.normalize;
    this.session = session;
    this.tokenizer = tokenizer;
    this.base = opts.base ?? null;
    this.feedTokenTypes = session.inputNames.includes("token_type_ids");
    this.executionProvider = ep;
    this.maxBatchTexts = opts.maxBatchTexts ?? DEFAULT_MAX_BATCH_TEXTS;
    this.maxBatchTokens = opts.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS;
    this.memoryBytes = folder.modelBytes + (tokenizer?.vocabSize ?? 0) * BYTES_PER_VOCAB_ENTRY;
  }

  /** Loads a model folder (see `loadHfFolder`); throws `ModelLoadError` when it is unusable. */
  static async load(dir: string, opts: EncoderLoadOptions = {}): Promise<EncoderModel> {
    const started = performance.now();
    const folder = await loadHfFolder(dir);
    if (folder.kind === "causal-lm")
      throw new ModelLoadError(`${dir} holds a causal LM, not an encoder`, dir);
    const base = folder.kind === "adapter" ? checkedBase(folder, opts.base) : null;
    const modelBytes = await readFile(folder.modelPath);
    const ep = opts.executionProvider ?? "cpu";
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelBytes, {
        executionProviders: ep === "cuda" ? ["cuda", "cpu"] : ["cpu"],
        graphOptimizationLevel: "all",
        executionMode: "sequential",
        ...(opts.intraOpThreads !== undefined && { intraOpNumThreads: opts.intraOpThreads }),
        ...(opts.interOpThreads !== undefined && { interOpNumThreads: opts.interOpThreads }),
      });
    } catch (err) {
      throw new ModelLoadError(`onnxruntime cannot load ${folder.modelPath}`, dir, { cause: err });
    }
    try {
      const tokenizer =
        folder.kind === "adapter"
          ? null
          : HfTokenizer.fromFolder(folder, {
              ...(opts.maxLength !== undefined && { maxLength: opts.maxLength }),
            });
      const fields = {
        name: opts.name ?? folder.name,
        version: opts.version ?? folder.config.version ?? contentVersion(folder, modelBytes, base),
        dimensions: dimensionsOf(folder),
        outputName: outputNameOf(folder, session),
      };
      if (folder.kind !== "adapter") checkInputs(folder, session);
      const model = new EncoderModel(folder, session, tokenizer, fields, ep, opts);
      log.info(
        {
          dir,
          name: model.name,
          version: model.version,
          kind: model.kind,
          executionProvider: ep,
          loadMs: Math.round(performance.now() - started),
        },
        "loaded encoder",
      );
      return model;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Sentence vectors: pooled and (by default) L2-normalised; adapters transform their base's. */
  async embed(texts: readonly string[]): Promise<EncoderEmbedResult> {
    if (this.kind === "adapter") return this.embedWithAdapter(texts);
    this.expectKind("embedder", "embed");
    const dims = this.dimensions;
    const vectors = new Float32Array(texts.length * dims);
    const rows = texts.map((t) => this.tok().encodeRow(t));
    const tokenCounts = Uint32Array.from(rows, (r) => r.ids.length);
    const pooled = this.outputName !== "last_hidden_state";
    await this.runBatched(rows, (out, idx, lengths, seqLen) => {
      for (let r = 0; r < idx.length; r++) {
        const dst = vectors.subarray(idx[r]! * dims, (idx[r]! + 1) * dims);
        if (pooled) dst.set(out.subarray(r * dims, (r + 1) * dims));
        else poolTokenVectors(out, r * seqLen * dims, lengths[r]!, dims, this.pooling, dst);
        if (this.normalize) l2NormalizeInPlace(dst);
      }
    });
    return { vectors, tokenCounts };
  }

  /**
   * Cross-encoder relevance of each passage to the query, in passage order: the model's logit
   * (for a two-logit model, positive minus negative).
   */
  async rerank(query: string, passages: readonly string[]): Promise<Float32Array> {
    this.expectKind("reranker", "rerank");
    const scores = new Float32Array(passages.length);
    const rows = passages.map((p) => this.tok().encodeRow(query, p));
    await this.runBatched(rows, (out, idx) => {
      const width = out.length / idx.length;
      for (let r = 0; r < idx.length; r++) {
        const base = r * width;
        scores[idx[r]!] = width >= 2 ? out[base + 1]! - out[base]! : out[base]!;
      }
    });
    return scores;
  }

  /** All labels per text, best first: softmax probabilities, or sigmoids for multi-label models. */
  async classify(texts: readonly string[]): Promise<LabelScore[][]> {
    this.expectKind("classifier", "classify");
    const results: LabelScore[][] = new Array(texts.length);
    const rows = texts.map((t) => this.tok().encodeRow(t));
    const n = this.labels.length;
    await this.runBatched(rows, (out, idx) => {
      for (let r = 0; r < idx.length; r++) {
        const probs = this.multiLabel
          ? sigmoid(out.subarray(r * n, (r + 1) * n))
          : softmax(out.subarray(r * n, (r + 1) * n));
        const scores = this.labels.map((label, i) => ({ label, score: probs[i]! }));
        results[idx[r]!] = scores.sort((a, b) => b.score - a.score);
      }
    });
    return results;
  }

  /** Tokens and ids per text (or text pair), truncated as the model would see them. */
  tokenize(
    texts: readonly string[],
    opts: { pairs?: readonly string[]; addSpecialTokens?: boolean } = {},
  ): TokenizedText[] {
    if (this.base) return this.base.tokenize(texts, opts);
    if (opts.pairs && opts.pairs.length !== texts.length)
      throw new Error(`${texts.length} texts but ${opts.pairs.length} pairs`);
    return texts.map((t, i) =>
      this.tok().encode(t, {
        ...(opts.pairs && { pair: opts.pairs[i] }),
        addSpecialTokens: opts.addSpecialTokens ?? true,
      }),
    );
  }

  /** Tokens per text after truncation (what `embed` reports as token counts). */
  get maxLength(): number {
    return this.base ? this.base.maxLength : this.tok().maxLength;
  }

  /** Releases the native session (not an adapter's base, which its owner closes). */
  async close(): Promise<void> {
    await this.session.release();
  }

  private async embedWithAdapter(texts: readonly string[]): Promise<EncoderEmbedResult> {
    const base = this.base!;
    const { vectors: input, tokenCounts } = await base.embed(texts);
    const dims = this.dimensions;
    const vectors = new Float32Array(input.length);
    const inputName = this.session.inputNames[0]!;
    // Adapters are a few D×D matrices: large chunks cost little memory and save per-call overhead.
    const chunk = Math.max(1, this.maxBatchTexts * 8);
    for (let start = 0; start < texts.length; start += chunk) {
      const end = Math.min(texts.length, start + chunk);
      const feed = new ort.Tensor("float32", input.subarray(start * dims, end * dims), [
        end - start,
        dims,
      ]);
      const out = await this.session.run({ [inputName]: feed });
      const result = out[this.outputName];
      if (!result || !(result.data instanceof Float32Array))
        throw new Error(`adapter ${this.name} returned no float ${this.outputName}`);
      vectors.set(result.data, start * dims);
      result.dispose();
    }
    if (this.normalize)
      for (let i = 0; i < texts.length; i++)
        l2NormalizeInPlace(vectors.subarray(i * dims, (i + 1) * dims));
    return { vectors, tokenCounts };
  }

  /**
   * Runs rows in length-sorted sub-batches; `take` gets the float output, the original indices of
   * the sub-batch's rows, their lengths and the padded width.
   */
  private async runBatched(
    rows: readonly EncodedRow[],
    take: (out: Float32Array, idx: readonly number[], lengths: Uint32Array, seqLen: number) => void,
  ): Promise<void> {
    const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.ids.length - rows[b]!.ids.length);
    let start = 0;
    while (start < order.length) {
      let end = start + 1;
      while (end < order.length && end - start < this.maxBatchTexts) {
        // Ascending order: the candidate is the longest so far and sets the padded width.
        if ((end - start + 1) * rows[order[end]!]!.ids.length > this.maxBatchTokens) break;
        end++;
      }
      const idx = order.slice(start, end);
      const batch = this.tok().pad(idx.map((i) => rows[i]!));
      const dims = [batch.batch, batch.seqLen];
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor("int64", batch.inputIds, dims),
        attention_mask: new ort.Tensor("int64", batch.attentionMask, dims),
      };
      if (this.feedTokenTypes)
        feeds["token_type_ids"] = new ort.Tensor("int64", batch.tokenTypeIds, dims);
      const out = await this.session.run(feeds);
      const result = out[this.outputName];
      if (!result || !(result.data instanceof Float32Array))
        throw new Error(`model ${this.name} returned no float ${this.outputName}`);
      take(result.data, idx, batch.lengths, batch.seqLen);
      for (const t of Object.values(out)) t.dispose();
      start = end;
    }
  }

  private tok(): HfTokenizer {
    if (!this.tokenizer) throw new ModelKindError(`model ${this.name} has no tokenizer of its own`);
    return this.tokenizer;
  }

  private expectKind(kind: EncoderKind, op: string): void {
    if (this.kind !== kind) throw new ModelKindError(`cannot ${op} with ${this.kind} ${this.name}`);
  }
}

function checkedBase(folder: HfFolder, base: AdapterBase | undefined): AdapterBase {
  if (!base)
    throw new ModelLoadError(
      `adapter ${folder.dir} needs its base embedder loaded first`,
      folder.dir,
    );
  if (base.kind !== "embedder" && base.kind !== "adapter")
    throw new ModelLoadError(
      `adapter ${folder.dir} cannot follow ${base.kind} ${base.name}`,
      folder.dir,
    );
  if (folder.config.dimensions !== base.dimensions) {
    throw new ModelLoadError(
      `adapter ${folder.dir} takes ${folder.config.dimensions}-d vectors but ${base.name} makes ${base.dimensions}-d`,
      folder.dir,
    );
  }
  const declared = folder.config.base;
  // A base pinned at an exact version is what the adapter was trained on: any other base would
  // serve vectors under the adapter's name that no training ever produced.
  if (declared?.includes("@") && declared !== `${base.name}@${base.version}`)
    throw new ModelLoadError(
      `adapter ${folder.dir} was trained after ${declared}, not ${base.name}@${base.version}`,
      folder.dir,
    );
  if (declared !== undefined && !declared.includes("@") && declared !== base.name)
    log.warn(
      { dir: folder.dir, declared: folder.config.base, base: base.name },
      "adapter base name differs",
    );
  return base;
}

function contentVersion(
  folder: HfFolder,
  modelBytes: Uint8Array,
  base: AdapterBase | null,
): string {
  const hash = createHash("sha256").update(modelBytes).update(folder.configText);
  // Tokenisation changes outputs as much as weights do; an adapter's output also depends on its base.
  if (folder.tokenizerJson) hash.update(JSON.stringify(folder.tokenizerJson));
  if (base) hash.update(`${base.name}@${base.version}`);
  return hash.digest("hex").slice(0, 12);
}

function dimensionsOf(folder: HfFolder): number {
  switch (folder.kind) {
    case "embedder":
      if (folder.config.hidden_size === undefined)
        throw new ModelLoadError(`config.json in ${folder.dir} has no hidden_size`, folder.dir);
      return folder.config.hidden_size;
    case "adapter":
      return folder.config.dimensions!;
    case "classifier":
      return folder.labels.length;
    case "reranker":
      return 1;
    case "causal-lm":
      throw new ModelLoadError(`${folder.dir} holds a causal LM, not an encoder`, folder.dir);
    default: {
      const never: never = folder.kind;
      throw new ModelLoadError(`unknown model kind ${String(never)}`, folder.dir);
    }
  }
}

function outputNameOf(folder: HfFolder, session: ort.InferenceSession): string {
  // Optimum exports of sentence-transformers models may carry an already-pooled output.
  const preferred =
    folder.kind === "embedder"
      ? ["last_hidden_state", "sentence_embedding"]
      : folder.kind === "adapter"
        ? ["adapted"]
        : ["logits"];
  const name = preferred.find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
  if (name === undefined)
    throw new ModelLoadError(`${folder.modelPath} has no outputs`, folder.dir);
  return name;
}

function checkInputs(folder: HfFolder, session: ort.InferenceSession): void {
  const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.has(n));
  const missing = ["input_ids", "attention_mask"].filter((n) => !session.inputNames.includes(n));
  if (unknown.length > 0 || missing.length > 0) {
    throw new ModelLoadError(
      `${folder.modelPath} inputs ${session.inputNames.join(", ")} are not input_ids, attention_mask[, token_type_ids]`,
      folder.dir,
    );
  }
}
