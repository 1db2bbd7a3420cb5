import { createHash, randomInt } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { createLogger } from "@tailor/telemetry";
import * as ort from "onnxruntime-node";
import { DecodeScheduler, type GenerationEvent } from "./decode-scheduler.js";
import { type Detokenizer, detokenizerFactory } from "./detokenizer.js";
import type { ExecutionProvider } from "./execution-provider.js";
import { type KvCache, OnnxDecoderBackend } from "./onnx-decoder-backend.js";
import { type GenerationParams, normalizeGenerationParams } from "./sampling.js";

export {
  type FinishReason,
  GenerationClosedError,
  type GenerationEvent,
  GenerationQueueFullError,
  type GenerationUsage,
  PromptTooLongError,
} from "./decode-scheduler.js";
export { type GenerationParams, GenerationParamsError } from "./sampling.js";

const log = createLogger("model-server");

/** Options of {@link CausalLm.load}. */
export interface CausalLmOptions {
  /** Already vetted by `chooseExecutionProvider`; an absent provider makes onnxruntime throw. */
  readonly executionProvider?: ExecutionProvider;
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
  /** Streams decoded together in one batch. */
  readonly maxConcurrentStreams?: number;
  /** Streams waiting for a batch slot before new ones are refused. */
  readonly maxQueuedStreams?: number;
}

/** The config.json fields this runtime reads (Hugging Face names). */
interface LlamaConfigJson {
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads?: number;
  readonly hidden_size: number;
  readonly head_dim?: number;
  readonly vocab_size: number;
  readonly max_position_embeddings: number;
  readonly eos_token_id?: number | number[];
  readonly _name_or_path?: string;
}

interface GenerationConfigJson {
  readonly eos_token_id?: number | number[];
  readonly max_new_tokens?: number;
}

const DEFAULT_MAX_CONCURRENT = 8;
const DEFAULT_MAX_QUEUED = 64;
const DEFAULT_MAX_NEW_TOKENS = 256;

/** Decoder-only causal LM in Hugging Face Optimum's ONNX layout, with batched streaming generation. */
export class CausalLm {
  readonly name: string;
  readonly version: string;
  /** Weights plus the worst-case KV cache of every concurrent stream. */
  readonly memoryBytes: number;
  readonly executionProvider: ExecutionProvider;
  readonly maxPositions: number;
  readonly vocabSize: number;
  private readonly scheduler: DecodeScheduler<KvCache>;
  private readonly defaultMaxTokens: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    meta: {
      name: string;
      version: string;
      modelBytes: number;
      config: LlamaConfigJson;
      eos: number[];
      detokenizer: () => Detokenizer;
      defaultMaxTokens: number;
      ep: ExecutionProvider;
    },
    opts: CausalLmOptions,
  ) {
    const c = meta.config;
    const layers = c.num_hidden_layers;
    const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
    const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
    const maxActive = opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT;
    this.name = meta.name;
    this.version = meta.version;
    this.executionProvider = meta.ep;
    this.maxPositions = c.max_position_embeddings;
    this.vocabSize = c.vocab_size;
    this.defaultMaxTokens = meta.defaultMaxTokens;
    this.memoryBytes =
      meta.modelBytes + maxActive * 2 * layers * kvHeads * this.maxPositions * headDim * 4;
    const backend = new OnnxDecoderBackend(session, {
      layers,
      kvHeads,
      headDim,
      vocabSize: c.vocab_size,
      maxPositions: c.max_position_embeddings,
    });
    this.scheduler = new DecodeScheduler(backend, {
      maxActiveStreams: maxActive,
      maxQueuedStreams: opts.maxQueuedStreams ?? DEFAULT_MAX_QUEUED,
      eosTokenIds: new Set(meta.eos),
      detokenizer: meta.detokenizer,
    });
  }

  /** Loads `<folder>/{model.onnx,config.json,tokenizer.json,tokenizer_config.json,generation_config.json}`. */
  static async load(folder: string, opts: CausalLmOptions = {}): Promise<CausalLm> {
    const started = performance.now();
    const readJson = async <T>(name: string, optional = false): Promise<T | undefined> => {
      try {
        return JSON.parse(await readFile(join(folder, name), "utf8")) as T;
      } catch (err) {
        if (optional && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    };
    const configText = await readFile(join(folder, "config.json"), "utf8");
    const config = JSON.parse(configText) as LlamaConfigJson;
    const tokenizerJson = (await readJson<{ decoder?: { type?: string } }>("tokenizer.json"))!;
    const tokenizerConfig = (await readJson<object>("tokenizer_config.json", true)) ?? {};
    const generation = (await readJson<GenerationConfigJson>("generation_config.json", true)) ?? {};
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const modelPath = join(folder, "model.onnx");
    const modelBytes = (await stat(modelPath)).size;
    const ep = opts.executionProvider ?? "cpu";
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ep === "cuda" ? ["cuda", "cpu"] : ["cpu"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      ...(opts.intraOpThreads !== undefined && { intraOpNumThreads: opts.intraOpThreads }),
      ...(opts.interOpThreads !== undefined && { interOpNumThreads: opts.interOpThreads }),
    });
    const eosRaw = generation.eos_token_id ?? config.eos_token_id;
    const eos = eosRaw === undefined ? [] : Array.isArray(eosRaw) ? eosRaw : [eosRaw];
    const version = createHash("sha256")
      .update(configText)
      .update(String(modelBytes))
      .digest("hex")
      .slice(0, 12);
    const lm = new CausalLm(
      session,
      tokenizer,
      {
        name: config._name_or_path ?? basename(folder),
        version,
        modelBytes,
        config,
        eos,
        detokenizer: detokenizerFactory(tokenizer, tokenizerJson.decoder?.type),
        defaultMaxTokens: generation.max_new_tokens ?? DEFAULT_MAX_NEW_TOKENS,
        ep,
      },
      opts,
    );
    log.info(
      {
        folder,
        name: lm.name,
        version,
        executionProvider: ep,
        layers: config.num_hidden_layers,
        loadMs: Math.round(performance.now() - started),
      },
      "loaded causal lm",
    );
    return lm;
  }

  /** Token ids of `text` as the model sees a prompt (BOS included when the tokenizer adds it). */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  /** Text of `ids`, special tokens dropped. */
  detokenize(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  /** Streams currently holding a batch slot. */
  get activeStreams(): number {
    return this.scheduler.activeStreams;
  }

  /** Streams waiting for a slot. */
  get queueDepth(): number {
    return this.scheduler.queueDepth;
  }

  /**
   * Streams the continuation of `prompt`. Throws at once (before any event) on bad parameters
   * (`GenerationParamsError`), a prompt that does not fit (`PromptTooLongError`), or a full queue
   * (`GenerationQueueFullError`). Aborting `signal` ends the stream with the abort reason and frees
   * its slot at the next step; so does leaving the iteration early.
   */
  generate(
    prompt: string,
    params: Partial<GenerationParams> = {},
    signal?: AbortSignal,
  ): AsyncIterable<GenerationEvent> {
    const p = normalizeGenerationParams(params, { maxTokens: this.defaultMaxTokens });
    const seed = p.seed ?? randomInt(0, 2 ** 32);
    return this.scheduler.submit(this.tokenize(prompt), p, seed, signal);
  }

  /** Ends all streams and releases the native session; idempotent. */
  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      await this.scheduler.close();
      await this.session.release();
    })();
    return this.closing;
  }

  private closing: Promise<void> | null = null;
}
