import { Tokenizer } from "@huggingface/tokenizers";
import { countTokens, type HfFolder } from "@tailor/models";
import { DynamicBatcher } from "./runtime/batcher.js";
import type { CausalLm } from "./runtime/causal-lm.js";
import type { OnnxEmbedder } from "./runtime/embedder.js";
import {
  type AdapterBase,
  type EncoderModel,
  type LabelScore,
  ModelKindError,
  type TokenizedText,
} from "./runtime/encoder.js";
import type { ExecutionProvider } from "./runtime/execution-provider.js";

/** One text's embedding as a batcher result. */
export interface EmbeddedText {
  vector: Float32Array;
  tokens: number;
}

/** One (query, passage) pair of a rerank call; pairs from different callers share batches. */
export interface RerankPair {
  query: string;
  passage: string;
}

/** Limits of every encoder model's {@link DynamicBatcher}. */
export interface BatchLimits {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueItems: number;
  maxTokens: number;
}

/** Options of {@link ServedModel.tokenize}. */
export interface TokenizeOptions {
  pairs?: readonly string[];
  addSpecialTokens: boolean;
}

interface ServedBase {
  readonly name: string;
  readonly version: string;
  readonly executionProvider: ExecutionProvider;
  readonly dimensions: number;
  readonly memoryBytes: number;
  readonly labels: readonly string[];
  /** `name@version` of the embedder an adapter runs after. */
  readonly base: string | null;
  /** Items (or streams) waiting to run. */
  readonly queueDepth: number;
  /** Throws ModelKindError when the model has no tokenizer of its own to show. */
  tokenize(texts: readonly string[], o: TokenizeOptions): TokenizedText[];
  /** Lets queued work finish (drain) or ends it (destroy), then frees the session. */
  close(o: { drain: boolean }): Promise<void>;
}

export interface ServedEmbedder extends ServedBase {
  readonly kind: "embedder" | "adapter";
  readonly embed: DynamicBatcher<string, EmbeddedText>;
  /** The model itself as an adapter's base (unbatched: the adapter's own batcher batches). */
  readonly asBase: AdapterBase;
}

export interface ServedReranker extends ServedBase {
  readonly kind: "reranker";
  readonly rerank: DynamicBatcher<RerankPair, number>;
}

export interface ServedClassifier extends ServedBase {
  readonly kind: "classifier";
  readonly classify: DynamicBatcher<string, LabelScore[]>;
}

export interface ServedCausalLm extends ServedBase {
  readonly kind: "causal-lm";
  readonly lm: CausalLm;
  /** Positions of the model: prompt plus new tokens must fit. */
  readonly maxPositions: number;
  /** Counts a stream as in flight until the returned release runs, so unload can wait for it. */
  track(): () => void;
}

/** A loaded model of any kind, as the RPC handlers see it. */
export type ServedModel = ServedEmbedder | ServedReranker | ServedClassifier | ServedCausalLm;

/** The built-in GloVe embedder behind a batcher. */
export function serveGlove(model: OnnxEmbedder, limits: BatchLimits): ServedEmbedder {
  const embed = new DynamicBatcher<string, EmbeddedText>({
    ...limits,
    tokensOf: (t) => Math.min(countTokens(t), model.maxTokens),
    run: async (texts) => {
      const r = await model.embed(texts);
      return rows(r.vectors, r.tokenCounts, model.dimensions);
    },
  });
  return {
    kind: "embedder",
    name: model.name,
    version: model.version,
    executionProvider: model.executionProvider,
    dimensions: model.dimensions,
    memoryBytes: model.memoryBytes,
    labels: [],
    base: null,
    asBase: gloveAsBase(model),
    embed,
    get queueDepth() {
      return embed.queueDepth;
    },
    tokenize() {
      throw new ModelKindError(`the built-in embedder ${model.name} has no subword tokenizer`);
    },
    async close() {
      await embed.close();
      await model.close();
    },
  };
}

/** The built-in GloVe embedder as an adapter's base: its normalised mean word vectors. */
function gloveAsBase(model: OnnxEmbedder): AdapterBase {
  return {
    kind: "embedder",
    name: model.name,
    version: model.version,
    dimensions: model.dimensions,
    maxLength: model.maxTokens,
    embed: (texts) => model.embed(texts),
    tokenize() {
      throw new ModelKindError(`the built-in embedder ${model.name} has no subword tokenizer`);
    },
  };
}

/** An EncoderModel behind the batcher its kind needs. */
export function serveEncoder(
  model: EncoderModel,
  limits: BatchLimits,
  base: ServedEmbedder | null,
): ServedEmbedder | ServedReranker | ServedClassifier {
  const tokensOf = (t: string) => Math.min(countTokens(t), model.maxLength);
  const common = {
    name: model.name,
    version: model.version,
    executionProvider: model.executionProvider,
    dimensions: model.dimensions,
    memoryBytes: model.memoryBytes,
    labels: model.labels,
    base: base ? `${base.name}@${base.version}` : null,
    tokenize: (texts: readonly string[], o: TokenizeOptions) =>
      model.tokenize(texts, {
        addSpecialTokens: o.addSpecialTokens,
        ...(o.pairs && { pairs: o.pairs }),
      }),
  };
  switch (model.kind) {
    case "embedder":
    case "adapter": {
      const embed = new DynamicBatcher<string, EmbeddedText>({
        ...limits,
        tokensOf,
        run: async (texts) => {
          const r = await model.embed(texts);
          return rows(r.vectors, r.tokenCounts, model.dimensions);
        },
      });
      return {
        ...common,
        kind: model.kind,
        asBase: model,
        embed,
        get queueDepth() {
          return embed.queueDepth;
        },
        close: () => closeBoth(embed, model),
      };
    }
    case "reranker": {
      const rerank = new DynamicBatcher<RerankPair, number>({
        ...limits,
        tokensOf: (p) => Math.min(countTokens(p.query) + countTokens(p.passage), model.maxLength),
        run: (pairs) => rerankPairs(model, pairs),
      });
      return {
        ...common,
        kind: "reranker",
        rerank,
        get queueDepth() {
          return rerank.queueDepth;
        },
        close: () => closeBoth(rerank, model),
      };
    }
    case "classifier": {
      const classify = new DynamicBatcher<string, LabelScore[]>({
        ...limits,
        tokensOf,
        run: (texts) => model.classify(texts),
      });
      return {
        ...common,
        kind: "classifier",
        classify,
        get queueDepth() {
          return classify.queueDepth;
        },
        close: () => closeBoth(classify, model),
      };
    }
    default: {
      const never: never = model.kind;
      throw new Error(`unknown encoder kind ${String(never)}`);
    }
  }
}

/** A causal LM; `folder` supplies the tokenizer that Tokenize shows (CausalLm keeps its own private). */
export function serveCausalLm(
  lm: CausalLm,
  folder: HfFolder,
  ids: { name: string; version: string },
): ServedCausalLm {
  const tokenizer = new Tokenizer(folder.tokenizerJson ?? {}, folder.tokenizerConfig);
  let inFlight = 0;
  let idle: (() => void)[] = [];
  return {
    kind: "causal-lm",
    name: ids.name,
    version: ids.version,
    executionProvider: lm.executionProvider,
    dimensions: 0,
    memoryBytes: lm.memoryBytes,
    labels: [],
    base: null,
    lm,
    maxPositions: lm.maxPositions,
    get queueDepth() {
      return lm.queueDepth;
    },
    track() {
      inFlight++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inFlight--;
        if (inFlight === 0) for (const wake of idle.splice(0)) wake();
      };
    },
    tokenize(texts, o) {
      return texts.map((t, i) => {
        const e = tokenizer.encode(t, {
          text_pair: o.pairs?.[i] ?? null,
          add_special_tokens: o.addSpecialTokens,
        });
        return { ids: e.ids, tokens: e.tokens };
      });
    },
    async close(o) {
      if (o.drain && inFlight > 0) await new Promise<void>((r) => idle.push(r));
      idle = [];
      await lm.close();
    },
  };
}

function rows(vectors: Float32Array, counts: Uint32Array, dims: number): EmbeddedText[] {
  const out: EmbeddedText[] = new Array(counts.length);
  for (let i = 0; i < counts.length; i++)
    out[i] = { vector: vectors.subarray(i * dims, (i + 1) * dims), tokens: counts[i]! };
  return out;
}

/**
 * One batch of pairs, possibly from several callers. EncoderModel scores one query against many
 * passages per call, so pairs are grouped by query: callers asking the same query share a
 * model call, different queries run one after the other inside the batch.
 */
async function rerankPairs(model: EncoderModel, pairs: RerankPair[]): Promise<number[]> {
  const groups = new Map<string, number[]>();
  pairs.forEach((p, i) => {
    const g = groups.get(p.query);
    if (g) g.push(i);
    else groups.set(p.query, [i]);
  });
  const scores: number[] = new Array(pairs.length);
  for (const [query, idx] of groups) {
    const s = await model.rerank(
      query,
      idx.map((i) => pairs[i]!.passage),
    );
    idx.forEach((i, k) => {
      scores[i] = s[k]!;
    });
  }
  return scores;
}

async function closeBoth(
  batcher: { close(): Promise<void> },
  model: { close(): Promise<void> },
): Promise<void> {
  // close() sends what is queued and waits for it, so unloading never drops accepted calls.
  await batcher.close();
  await model.close();
}
