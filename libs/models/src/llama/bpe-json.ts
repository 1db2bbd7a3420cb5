/** Special tokens, at the ids Llama tokenizers give them. */
export const BPE_SPECIAL_TOKENS = { unk: "<unk>", bos: "<s>", eos: "</s>" } as const;
export const BPE_UNK_ID = 0;
export const BPE_BOS_ID = 1;
export const BPE_EOS_ID = 2;

/**
 * GPT-2's pre-tokenizer split, which the ByteLevel pre-tokenizer applies before BPE; training on the
 * same pieces means every learned merge can fire at encode time.
 */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Default corpus: English prose plus some accented and non-Latin text so merges span UTF-8 bytes. */
export const DEFAULT_BPE_TRAINING_TEXT = [
  "The quick brown fox jumps over the lazy dog. The dog sleeps in the sun, and the fox runs away.",
  "Once upon a time there was a little model that wanted to write stories about the sea and the sky.",
  "It read the words one by one, then it learned that the best stories are the ones that end well.",
  "Tailor serves models: it embeds, it searches, and it generates text token by token for everyone.",
  "Numbers like 1, 2, 3, 42 and 2024 appear in text, as do questions? Yes! And lists: a, b, c.",
  "Café crème, naïve façade, déjà vu — the résumé of a señor in São Paulo, über schön in München.",
  "日本語のテキストも少し。こんにちは世界。 Привет, мир! Γειά σου κόσμε. 🙂 emoji 🚀 too.",
  "In the end the model said: thank you for reading, and see you in the next story of the sea.",
].join("\n");

/** Options of {@link buildByteLevelBpe}: learn merges from `text`, or take `merges` as given. */
export interface ByteLevelBpeOptions {
  readonly text?: string;
  /** Hand-made merges, applied in order; when set, `text` is ignored. */
  readonly merges?: readonly (readonly [string, string])[];
  /** Total vocabulary including the 3 special and 256 byte tokens; training stops there. */
  readonly vocabSize?: number;
}

/** A generated tokenizer in Hugging Face `tokenizer.json` form. */
export interface ByteLevelBpe {
  /** The `tokenizer.json` object, ready for `JSON.stringify`. */
  readonly tokenizerJson: Record<string, unknown>;
  readonly vocabSize: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly unkTokenId: number;
}

const DEFAULT_VOCAB_SIZE = 400;
const BYTE_TOKENS = 256;
const SPECIAL_COUNT = 3;

/** A real byte-level BPE tokenizer (GPT-2 style, as Llama 3 uses) with `<s>` prepended on encode. */
export function buildByteLevelBpe(opts: ByteLevelBpeOptions = {}): ByteLevelBpe {
  const target = opts.vocabSize ?? DEFAULT_VOCAB_SIZE;
  if (target < SPECIAL_COUNT + BYTE_TOKENS) throw new Error("vocabSize must be at least 259");
  const byteChars = bytesToUnicode();
  const vocab = new Map<string, number>();
  vocab.set(BPE_SPECIAL_TOKENS.unk, BPE_UNK_ID);
  vocab.set(BPE_SPECIAL_TOKENS.bos, BPE_BOS_ID);
  vocab.set(BPE_SPECIAL_TOKENS.eos, BPE_EOS_ID);
  for (const ch of byteChars) vocab.set(ch, vocab.size);
  const merges = opts.merges
    ? opts.merges.map(([a, b]) => [a, b] as const)
    : trainMerges(opts.text ?? DEFAULT_BPE_TRAINING_TEXT, byteChars, target - vocab.size);
  const kept: string[] = [];
  for (const [a, b] of merges) {
    if (!vocab.has(a) || !vocab.has(b)) throw new Error(`merge "${a} ${b}" uses an unknown token`);
    const merged = a + b;
    if (vocab.has(merged)) continue;
    vocab.set(merged, vocab.size);
    kept.push(`${a} ${b}`);
  }
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const bos = BPE_SPECIAL_TOKENS.bos;
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      special(BPE_SPECIAL_TOKENS.unk, BPE_UNK_ID),
      special(BPE_SPECIAL_TOKENS.bos, BPE_BOS_ID),
      special(BPE_SPECIAL_TOKENS.eos, BPE_EOS_ID),
    ],
    normalizer: null,
    pre_tokenizer: {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [BPE_BOS_ID], tokens: [bos] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges: kept,
    },
  };
  return {
    tokenizerJson,
    vocabSize: vocab.size,
    bosTokenId: BPE_BOS_ID,
    eosTokenId: BPE_EOS_ID,
    unkTokenId: BPE_UNK_ID,
  };
}

/** The `tokenizer_config.json` that goes with {@link buildByteLevelBpe}'s output. */
export function byteLevelBpeTokenizerConfig(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: BPE_SPECIAL_TOKENS.bos,
    eos_token: BPE_SPECIAL_TOKENS.eos,
    unk_token: BPE_SPECIAL_TOKENS.unk,
    add_bos_token: true,
    add_eos_token: false,
    // Byte-level BPE round-trips spaces exactly; the clean-up would turn "a ." into "a.".
    clean_up_tokenization_spaces: false,
    model_max_length: maxLength,
  };
}

/** GPT-2's reversible byte → printable character table. */
export function bytesToUnicode(): string[] {
  const direct = new Set<number>();
  const ranges: [number, number][] = [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ];
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) direct.add(b);
  const out: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = String.fromCodePoint(direct.has(b) ? b : 256 + shifted++);
  }
  return out;
}

function trainMerges(text: string, byteChars: readonly string[], budget: number) {
  const encoder = new TextEncoder();
  const wordCounts = new Map<string, number>();
  for (const piece of text.match(GPT2_SPLIT) ?? []) {
    const symbols = Array.from(encoder.encode(piece), (b) => byteChars[b]!).join("\u0000");
    wordCounts.set(symbols, (wordCounts.get(symbols) ?? 0) + 1);
  }
  const words = [...wordCounts].map(([w, count]) => ({ symbols: w.split("\u0000"), count }));
  const merges: (readonly [string, string])[] = [];
  while (merges.length < budget) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 1;
    // Pairs seen once add little; ties break on the key so training is deterministic.
    for (const [key, count] of pairs) {
      if (count > bestCount || (count === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === null) break;
    const [a, b] = best.split("\u0000") as [string, string];
    merges.push([a, b]);
    for (const word of words) {
      const next: string[] = [];
      const s = word.symbols;
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(s[i]!);
      }
      word.symbols = next;
    }
  }
  return merges;
}
