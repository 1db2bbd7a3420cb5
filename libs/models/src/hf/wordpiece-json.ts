/** Special tokens of a BERT vocabulary, in the id order {@link buildWordPieceTokenizerJson} gives them. */
export const BERT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

/** A small English vocabulary for tiny test and bench models (lower case, no duplicates). */
export const TINY_WORDS: readonly string[] = (
  "the a an and or of to in on for with is are was be it this that what how why who where when " +
  "do does not no yes i you we they he she my your our cat dog bird fish house car tree water " +
  "fire city river book music food coffee tea bread model data search query answer question " +
  "document text word token vector graph server cloud good bad great terrible happy sad fast " +
  "slow big small new old run walk eat drink read write like love hate see find make play work " +
  "day night time year people world"
).split(" ");

const PUNCTUATION = [".", ",", "!", "?", "'", '"', "-", ":", ";", "(", ")"];
const LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789";
const SUBWORD_SUFFIXES = ["s", "ed", "ing", "er", "ly"];

/** Options of {@link buildWordPieceTokenizerJson}. */
export interface WordPieceJsonOptions {
  /** Whole words, after the special tokens and punctuation; defaults to {@link TINY_WORDS}. */
  readonly words?: readonly string[];
  /**
   * Adds every letter and digit, alone and as a `##` continuation, so any lower-case ASCII word
   * tokenizes without `[UNK]` (default true).
   */
  readonly characterFallback?: boolean;
  /** Pad the vocabulary with `[unusedN]` entries up to this size (for MiniLM-shaped benches). */
  readonly vocabSize?: number;
}

/** A `tokenizer.json` in the Hugging Face tokenizers schema, with its vocabulary. */
export interface WordPieceTokenizerJson {
  readonly json: Record<string, unknown>;
  /** token → id, special tokens included. */
  readonly vocab: ReadonlyMap<string, number>;
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
}

/**
 * Builds a real BERT `tokenizer.json` (BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing
 * with [CLS]/[SEP], WordPiece decoder) over a small vocabulary. The result loads in both the Rust
 * `tokenizers` library and `@huggingface/tokenizers`.
 */
export function buildWordPieceTokenizerJson(
  opts: WordPieceJsonOptions = {},
): WordPieceTokenizerJson {
  const vocab = new Map<string, number>();
  const add = (token: string) => {
    if (!vocab.has(token)) vocab.set(token, vocab.size);
  };
  for (const t of BERT_SPECIAL_TOKENS) add(t);
  for (const p of PUNCTUATION) add(p);
  for (const w of opts.words ?? TINY_WORDS) add(w);
  for (const s of SUBWORD_SUFFIXES) add(`##${s}`);
  if (opts.characterFallback ?? true) {
    for (const c of LETTERS) add(c);
    for (const c of LETTERS) add(`##${c}`);
  }
  for (let i = 0; opts.vocabSize !== undefined && vocab.size < opts.vocabSize; i++)
    add(`[unused${i}]`);

  const id = (t: string) => vocab.get(t) ?? 0;
  const special = (t: string, specialId: number) => ({
    id: specialId,
    content: t,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIAL_TOKENS.map((t) => special(t, id(t))),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
  return {
    json,
    vocab,
    vocabSize: vocab.size,
    padId: id("[PAD]"),
    unkId: id("[UNK]"),
    clsId: id("[CLS]"),
    sepId: id("[SEP]"),
  };
}

/** The `tokenizer_config.json` that goes with {@link buildWordPieceTokenizerJson}'s output. */
export function wordPieceTokenizerConfig(modelMaxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    model_max_length: modelMaxLength,
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    mask_token: "[MASK]",
    clean_up_tokenization_spaces: true,
  };
}
