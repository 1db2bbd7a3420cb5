import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type GloveModelConfig, padBatch, UNK_ID, WordTokenizer } from "@tailor/models";
import { createLogger } from "@tailor/telemetry";
import * as ort from "onnxruntime-node";
import type { ExecutionProvider } from "./execution-provider.js";

const log = createLogger("model-server");

/** Options of {@link OnnxEmbedder.load}. */
export interface OnnxEmbedderOptions {
  /** Already vetted by `chooseExecutionProvider`; an absent provider makes onnxruntime throw. */
  readonly executionProvider?: ExecutionProvider;
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
  /** Words kept per text; the rest is truncated. */
  readonly maxTokens?: number;
  /** Most texts per model call. */
  readonly maxBatchTexts?: number;
}

/** Output of {@link OnnxEmbedder.embed}. */
export interface EmbedResult {
  /** n × dimensions, row-major, each row L2-normalised (or all zeros, see `embed`). */
  readonly vectors: Float32Array;
  /** Words per text after truncation, unknown words included. */
  readonly tokenCounts: Uint32Array;
}

const DEFAULT_MAX_TOKENS = 256;
const DEFAULT_MAX_BATCH_TEXTS = 256;
// Caps one call's [batch, seq, dims] float intermediate (Gather output) at 64 Mi cells ≈ 256 MB.
const MAX_CELLS_PER_CALL = 64 * 1024 * 1024;

/** Sentence embedder over a mean-pooled word-vector ONNX model built by `buildGloveModel`. */
export class OnnxEmbedder {
  readonly name: string;
  readonly version: string;
  readonly dimensions: number;
  /** Estimate of resident memory: the embedding matrix plus the word → id map. */
  readonly memoryBytes: number;
  readonly executionProvider: ExecutionProvider;
  readonly maxTokens: number;
  private readonly maxBatchTexts: number;
  private readonly session: ort.InferenceSession;
  private readonly tokenizer: WordTokenizer;
  private readonly outputName: string;

  private constructor(
    session: ort.InferenceSession,
    tokenizer: WordTokenizer,
    config: GloveModelConfig,
    ep: ExecutionProvider,
    opts: OnnxEmbedderOptions,
  ) {
    this.session = session;
    this.tokenizer = tokenizer;
    this.name = config.name;
    this.version = config.version;
    this.dimensions = config.dimensions;
    this.outputName = config.output;
    this.executionProvider = ep;
    this.maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
    this.maxBatchTexts = opts.maxBatchTexts ?? DEFAULT_MAX_BATCH_TEXTS;
    // ~64 bytes per Map entry and short string is V8's typical cost; good enough for capacity planning.
    this.memoryBytes = config.vocabSize * config.dimensions * 4 + config.vocabSize * 64;
  }

  /** Loads `<dir>/{config.json,vocab.txt,model.onnx}`. */
  static async load(dir: string, opts: OnnxEmbedderOptions = {}): Promise<OnnxEmbedder> {
    const started = performance.now();
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as GloveModelConfig;
    const tokenizer = WordTokenizer.fromVocabText(await readFile(join(dir, "vocab.txt"), "utf8"));
    if (tokenizer.vocabSize !== config.vocabSize) {
      throw new Error(
        `vocab.txt has ${tokenizer.vocabSize} words, config.json says ${config.vocabSize}`,
      );
    }
    const ep = opts.executionProvider ?? "cpu";
    const session = await ort.InferenceSession.create(join(dir, "model.onnx"), {
      executionProviders: ep === "cuda" ? ["cuda", "cpu"] : ["cpu"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      ...(opts.intraOpThreads !== undefined && { intraOpNumThreads: opts.intraOpThreads }),
      ...(opts.interOpThreads !== undefined && { interOpNumThreads: opts.interOpThreads }),
    });
    const embedder = new OnnxEmbedder(session, tokenizer, config, ep, opts);
    log.info(
      {
        dir,
        name: config.name,
        version: config.version,
        executionProvider: ep,
        loadMs: Math.round(performance.now() - started),
      },
      "loaded embedder",
    );
    return embedder;
  }

  /**
   * Embeds texts as L2-normalised means of their known words' vectors. A text with no known words
   * (empty, numbers only, unknown words) gets an all-zero vector, never NaN: its cosine similarity
   * to anything is 0.
   */
  async embed(texts: readonly string[]): Promise<EmbedResult> {
    const n = texts.length;
    const dims = this.dimensions;
    const vectors = new Float32Array(n * dims);
    const tokenCounts = new Uint32Array(n);
    const encoded: Int32Array[] = new Array(n);
    const order: number[] = [];
    for (let i = 0; i < n; i++) {
      const enc = this.tokenizer.encode(texts[i] ?? "", this.maxTokens);
      encoded[i] = enc;
      tokenCounts[i] = enc.length;
      // Texts without any known word already have their answer: the zero row.
      if (hasKnownWord(enc)) order.push(i);
    }
    // Length-sorted sub-batches keep padding (wasted Gather work) to neighbours of similar length.
    order.sort((a, b) => encoded[a]!.length - encoded[b]!.length);
    let start = 0;
    while (start < order.length) {
      const end = this.chunkEnd(order, encoded, start);
      const idx = order.slice(start, end);
      const batch = padBatch(idx.map((i) => encoded[i]!));
      const out = await this.session.run({
        input_ids: new ort.Tensor("int64", batch.ids, [batch.batch, batch.seqLen]),
        attention_mask: new ort.Tensor("float32", batch.mask, [batch.batch, batch.seqLen]),
      });
      const result = out[this.outputName];
      if (!result || !(result.data instanceof Float32Array))
        throw new Error("model returned no float output");
      for (let r = 0; r < idx.length; r++) {
        vectors.set(result.data.subarray(r * dims, (r + 1) * dims), idx[r]! * dims);
      }
      result.dispose();
      start = end;
    }
    return { vectors, tokenCounts };
  }

  /** Releases the native session. */
  async close(): Promise<void> {
    await this.session.release();
  }

  private chunkEnd(
    order: readonly number[],
    encoded: readonly Int32Array[],
    start: number,
  ): number {
    let end = start;
    while (end < order.length && end - start < this.maxBatchTexts) {
      // Sorted ascending, so the candidate is the longest so far and sets the padded width.
      const width = Math.max(1, encoded[order[end]!]!.length);
      if (end > start && (end - start + 1) * width * this.dimensions > MAX_CELLS_PER_CALL) break;
      end++;
    }
    return end;
  }
}

function hasKnownWord(ids: Int32Array): boolean {
  for (let j = 0; j < ids.length; j++) if (ids[j]! > UNK_ID) return true;
  return false;
}
