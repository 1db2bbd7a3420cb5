import { Tokenizer } from "@huggingface/tokenizers";
import type { HfFolder, HfModelConfig, HfTokenizerConfig } from "./hf-folder.js";

/** One text (or pair) as ids, before padding. */
export interface EncodedRow {
  readonly ids: Int32Array;
  /** Segment of each token: 0 for the first text, 1 for the pair (per the post-processor). */
  readonly typeIds: Uint8Array;
}

/** A right-padded batch ready for an encoder; all arrays are [batch, seqLen] row-major. */
export interface HfEncodedBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly batch: number;
  readonly seqLen: number;
  /** Real tokens per row, special tokens included. */
  readonly lengths: Uint32Array;
}

/** Options of {@link HfTokenizer.encodeBatch}. */
export interface EncodeBatchOptions {
  /** Second segments, one per text (cross-encoders). */
  readonly pairs?: readonly string[];
  /** Overrides the tokenizer's own limit for this call. */
  readonly maxLength?: number;
  readonly addSpecialTokens?: boolean;
}

/** Options of {@link HfTokenizer.create}. */
export interface HfTokenizerOptions {
  /** Caps `model_max_length`; e.g. a server-wide token limit. */
  readonly maxLength?: number;
}

// transformers writes this sentinel (int(1e30)) as model_max_length when a tokenizer has no limit.
const UNLIMITED_MAX_LENGTH = 1e20;
const DEFAULT_MAX_LENGTH = 512;

/**
 * A Hugging Face `tokenizer.json` tokenizer with BERT-style batching: special tokens from the
 * post-processor, truncation to `maxLength` and right padding with the pad id.
 *
 * Truncation: a single text keeps its first `maxLength - specials` tokens. A pair is cut
 * 'longest_first': tokens come off the end of the longer segment until both fit, and two
 * over-long segments end up with ⌈budget/2⌉ (first) and ⌊budget/2⌋ (second) tokens, as in
 * transformers.
 */
export class HfTokenizer {
  /** Tokens per encoded row, special tokens included. */
  readonly maxLength: number;
  readonly padId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  private readonly tokenizer: Tokenizer;
  private readonly ids: Map<string, number>;
  private readonly specialsSingle: number;
  private readonly specialsPair: number;

  private constructor(tokenizer: Tokenizer, maxLength: number, padId: number) {
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.padId = padId;
    this.ids = tokenizer.get_vocab(true);
    this.vocabSize = this.ids.size;
    this.unkId = unknownId(tokenizer);
    this.specialsSingle = this.postProcess([], null, true).tokens.length;
    this.specialsPair = this.postProcess([], [], true).tokens.length;
    if (this.specialsPair >= maxLength)
      throw new Error(`max length ${maxLength} leaves no room next to the special tokens`);
  }

  /** Builds a tokenizer from parsed `tokenizer.json` / `tokenizer_config.json` / `config.json`. */
  static create(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: HfTokenizerConfig = {},
    modelConfig: HfModelConfig = {},
    opts: HfTokenizerOptions = {},
  ): HfTokenizer {
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const limits = [opts.maxLength, configuredMaxLength(tokenizerConfig, modelConfig)];
    const maxLength = Math.min(...limits.filter((n): n is number => n !== undefined));
    return new HfTokenizer(
      tokenizer,
      Number.isFinite(maxLength) ? maxLength : DEFAULT_MAX_LENGTH,
      padIdOf(tokenizer, tokenizerJson, tokenizerConfig, modelConfig),
    );
  }

  /** Builds the tokenizer of a loaded folder (which must hold a `tokenizer.json`). */
  static fromFolder(folder: HfFolder, opts: HfTokenizerOptions = {}): HfTokenizer {
    if (!folder.tokenizerJson) throw new Error(`${folder.dir} has no tokenizer.json`);
    return HfTokenizer.create(folder.tokenizerJson, folder.tokenizerConfig, folder.config, opts);
  }

  /** Tokens of one text, with special tokens unless told otherwise, truncated to `maxLength`. */
  encode(
    text: string,
    opts: { pair?: string; addSpecialTokens?: boolean } = {},
  ): { ids: number[]; tokens: string[] } {
    const tokens = this.tokensOf(
      text,
      opts.pair ?? null,
      opts.addSpecialTokens ?? true,
      this.maxLength,
    );
    return { ids: tokens.tokens.map((t) => this.idOf(t)), tokens: tokens.tokens };
  }

  /** One row of ids and segment ids, truncated; see the class comment for the rule. */
  encodeRow(
    text: string,
    pair?: string,
    addSpecialTokens = true,
    maxLength = this.maxLength,
  ): EncodedRow {
    const { tokens, typeIds } = this.tokensOf(text, pair ?? null, addSpecialTokens, maxLength);
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.idOf(tokens[i]!);
    const types = new Uint8Array(tokens.length);
    if (typeIds) for (let i = 0; i < types.length; i++) types[i] = typeIds[i] ?? 0;
    return { ids, typeIds: types };
  }

  /** Encodes, truncates and right-pads texts (or text pairs) into one batch. */
  encodeBatch(texts: readonly string[], opts: EncodeBatchOptions = {}): HfEncodedBatch {
    if (opts.pairs && opts.pairs.length !== texts.length)
      throw new Error(`${texts.length} texts but ${opts.pairs.length} pairs`);
    const maxLength = Math.min(opts.maxLength ?? this.maxLength, this.maxLength);
    const rows = texts.map((t, i) =>
      this.encodeRow(t, opts.pairs?.[i], opts.addSpecialTokens ?? true, maxLength),
    );
    return this.pad(rows);
  }

  /** Right-pads rows to the longest one; pad positions get the pad id, mask 0 and segment 0. */
  pad(rows: readonly EncodedRow[]): HfEncodedBatch {
    const batch = rows.length;
    let seqLen = 0;
    for (const r of rows) seqLen = Math.max(seqLen, r.ids.length);
    const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(batch * seqLen);
    const tokenTypeIds = new BigInt64Array(batch * seqLen);
    const lengths = new Uint32Array(batch);
    for (let b = 0; b < batch; b++) {
      const { ids, typeIds } = rows[b]!;
      const base = b * seqLen;
      lengths[b] = ids.length;
      for (let i = 0; i < ids.length; i++) {
        inputIds[base + i] = BigInt(ids[i]!);
        attentionMask[base + i] = 1n;
        tokenTypeIds[base + i] = BigInt(typeIds[i]!);
      }
    }
    return { inputIds, attentionMask, tokenTypeIds, batch, seqLen, lengths };
  }

  /** Text of ids; special tokens are dropped unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[] | Int32Array, opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.tokenizer.decode(Array.from(ids), {
      skip_special_tokens: opts.skipSpecialTokens ?? true,
    });
  }

  /** Id of a token, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  private idOf(token: string): number {
    return this.ids.get(token) ?? this.unkId;
  }

  private tokensOf(
    text: string,
    pair: string | null,
    addSpecialTokens: boolean,
    maxLength: number,
  ): { tokens: string[]; typeIds: number[] | undefined } {
    let a = this.tokenizer.tokenize(text);
    let b = pair === null ? null : this.tokenizer.tokenize(pair);
    const specials = addSpecialTokens ? (b === null ? this.specialsSingle : this.specialsPair) : 0;
    const budget = Math.max(0, maxLength - specials);
    if (b === null) {
      if (a.length > budget) a = a.slice(0, budget);
    } else if (a.length + b.length > budget) {
      const [keepA, keepB] = longestFirst(a.length, b.length, budget);
      a = a.slice(0, keepA);
      b = b.slice(0, keepB);
    }
    const out = this.postProcess(a, b, addSpecialTokens);
    return { tokens: out.tokens, typeIds: out.token_type_ids };
  }

  private postProcess(
    a: string[],
    b: string[] | null,
    addSpecialTokens: boolean,
  ): { tokens: string[]; token_type_ids?: number[] } {
    const post = this.tokenizer.post_processor;
    if (post) return post.post_process(a, b, addSpecialTokens);
    return { tokens: b === null ? a : [...a, ...b] };
  }
}

/** Tokens kept of each segment of an over-long pair, 'longest_first' (see {@link HfTokenizer}). */
export function longestFirst(lenA: number, lenB: number, budget: number): [number, number] {
  if (lenA + lenB <= budget) return [lenA, lenB];
  const half = Math.floor(budget / 2);
  if (lenA <= half) return [lenA, budget - lenA];
  if (lenB <= budget - half) return [budget - lenB, lenB];
  return [budget - half, half];
}

function configuredMaxLength(tc: HfTokenizerConfig, mc: HfModelConfig): number | undefined {
  const fromTokenizer =
    tc.model_max_length !== undefined && tc.model_max_length < UNLIMITED_MAX_LENGTH
      ? tc.model_max_length
      : undefined;
  // Position embeddings are a hard limit: a longer row would index past the table.
  const fromModel = mc.max_position_embeddings;
  if (fromTokenizer === undefined) return fromModel;
  return fromModel === undefined ? fromTokenizer : Math.min(fromTokenizer, fromModel);
}

function padIdOf(
  tokenizer: Tokenizer,
  json: Record<string, unknown>,
  tc: HfTokenizerConfig,
  mc: HfModelConfig,
): number {
  const padToken = typeof tc.pad_token === "string" ? tc.pad_token : tc.pad_token?.content;
  const fromToken = padToken === undefined ? undefined : tokenizer.token_to_id(padToken);
  if (fromToken !== undefined) return fromToken;
  const padding = json["padding"] as { pad_id?: unknown } | null | undefined;
  if (typeof padding?.pad_id === "number") return padding.pad_id;
  return mc.pad_token_id ?? tokenizer.token_to_id("[PAD]") ?? tokenizer.token_to_id("<pad>") ?? 0;
}

function unknownId(tokenizer: Tokenizer): number {
  const model = tokenizer.model as unknown as { unk_token_id?: number } | null;
  return (
    model?.unk_token_id ?? tokenizer.token_to_id("[UNK]") ?? tokenizer.token_to_id("<unk>") ?? 0
  );
}
