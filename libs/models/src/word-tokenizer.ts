/** Id of the padding token; its embedding row is all zeros. */
export const PAD_ID = 0;
/** Id of out-of-vocabulary words; its embedding row is all zeros and it is masked out. */
export const UNK_ID = 1;

/** Padded, model-ready ids of a batch of texts, shape [batch, seqLen] row-major. */
export interface EncodedBatch {
  readonly ids: BigInt64Array;
  /** 1 for a known word, 0 for padding and unknown words. */
  readonly mask: Float32Array;
  readonly batch: number;
  readonly seqLen: number;
  /** Positions used per text (known + unknown words), before padding. */
  readonly lengths: Uint32Array;
}

// Runs of letters/digits, optionally joined by inner apostrophes or hyphens ("don't", "well-known").
// Anything else (punctuation, symbols, emoji) separates words and is never embedded: the vocabulary
// holds punctuation vectors, but they are so frequent that they drag every sentence mean towards
// one shared direction.
const WORD_RE = /[\p{L}\p{N}]+(?:['\u2019\u02bc-][\p{L}\p{N}]+)*/gu;
const COMBINING_MARKS_RE = /\p{M}+/gu;
const CURLY_APOSTROPHES_RE = /[\u2019\u02bc]/g;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NON_ASCII_RE = /[\u0080-\uffff]/;

// The vocabulary (wink's GloVe derivative) has no apostrophes at all, and stores the Penn-Treebank
// halves of negations ("ca", "wo") rather than the words they stand for, so contractions are
// expanded to the full words that do carry the meaning.
const NEGATION_STEMS: ReadonlyMap<string, string> = new Map([
  ["ca", "can"],
  ["wo", "will"],
  ["sha", "shall"],
  ["ai", "is"],
]);
const CLITICS: ReadonlyMap<string, string | null> = new Map([
  // "'s" is mostly possessive and otherwise "is"/"has": neither adds meaning to a mean vector.
  ["s", null],
  ["re", "are"],
  ["ll", "will"],
  ["ve", "have"],
  ["m", "am"],
  ["d", "would"],
]);

/** Maps text to vocabulary ids: lowercase, accents folded, words split the way the vocabulary spells them. */
export class WordTokenizer {
  readonly vocabSize: number;
  private readonly ids: Map<string, number>;
  // One scratch buffer reused by every encode call: the tokenizer is synchronous, so no overlap.
  private scratch = new Int32Array(512);
  private scratchLen = 0;
  private limit = 0;

  /** `vocab[i]` is the word of id i; entries 0 (padding) and 1 (unknown) are reserved and never matched. */
  constructor(vocab: readonly string[]) {
    this.vocabSize = vocab.length;
    this.ids = new Map();
    for (let id = UNK_ID + 1; id < vocab.length; id++) {
      const word = vocab[id];
      if (word !== undefined && word.length > 0 && !this.ids.has(word)) this.ids.set(word, id);
    }
  }

  /** Builds a tokenizer from a `vocab.txt` body: one word per line, line i is id i. */
  static fromVocabText(text: string): WordTokenizer {
    const lines = text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return new WordTokenizer(lines);
  }

  /** Id of one already-normalised word, or UNK_ID. */
  idOf(word: string): number {
    return this.ids.get(word) ?? UNK_ID;
  }

  /** Ids of at most `maxTokens` words of `text`; unknown words keep their position as UNK_ID. */
  encode(text: string, maxTokens: number): Int32Array {
    this.fill(text, maxTokens);
    return this.scratch.slice(0, this.scratchLen);
  }

  /** Encodes texts padded only to the longest one in the batch. */
  encodeBatch(texts: readonly string[], maxTokens: number): EncodedBatch {
    return padBatch(texts.map((text) => this.encode(text, maxTokens)));
  }

  private fill(text: string, maxTokens: number): void {
    this.scratchLen = 0;
    this.limit = Math.max(0, Math.floor(maxTokens));
    if (this.limit === 0 || text.length === 0) return;
    const norm = normalise(text);
    WORD_RE.lastIndex = 0;
    for (let m = WORD_RE.exec(norm); m !== null; m = WORD_RE.exec(norm)) {
      this.addWord(m[0]);
      if (this.scratchLen >= this.limit) return;
    }
  }

  private addWord(word: string): void {
    const whole = this.ids.get(word);
    if (whole !== undefined) {
      this.push(whole);
      return;
    }
    if (word.includes("-")) {
      // ~20k hyphenated compounds exist as such; the rest are embedded part by part.
      for (const part of word.split("-")) {
        if (this.scratchLen >= this.limit) return;
        if (part.length > 0) this.addPart(part);
      }
      return;
    }
    this.addPart(word);
  }

  private addPart(part: string): void {
    const apos = part.lastIndexOf("'");
    if (apos < 0) {
      this.push(this.idOf(part));
      return;
    }
    if (part.endsWith("n't")) {
      const stem = part.slice(0, -3);
      if (stem.length > 0) this.addPart(NEGATION_STEMS.get(stem) ?? stem);
      this.push(this.idOf("not"));
      return;
    }
    const head = part.slice(0, apos);
    const tail = part.slice(apos + 1);
    const clitic = CLITICS.get(tail);
    if (clitic !== undefined) {
      this.addPart(head);
      if (clitic !== null) this.push(this.idOf(clitic));
      return;
    }
    // Names such as "o'brien" are stored without the apostrophe ("obrien").
    const joined = this.ids.get(part.replaceAll("'", ""));
    if (joined !== undefined) {
      this.push(joined);
      return;
    }
    for (const piece of part.split("'")) {
      if (piece.length > 0) this.push(this.idOf(piece));
    }
  }

  private push(id: number): void {
    if (this.scratchLen >= this.limit) return;
    if (this.scratchLen === this.scratch.length) {
      const grown = new Int32Array(this.scratch.length * 2);
      grown.set(this.scratch);
      this.scratch = grown;
    }
    this.scratch[this.scratchLen++] = id;
  }
}

/** Packs encoded texts into [batch, seqLen] ids + mask, seqLen = the longest (at least 1, so shapes stay valid). */
export function padBatch(encoded: readonly Int32Array[]): EncodedBatch {
  const batch = encoded.length;
  const lengths = new Uint32Array(batch);
  let seqLen = 1;
  for (let i = 0; i < batch; i++) {
    const len = encoded[i]!.length;
    lengths[i] = len;
    if (len > seqLen) seqLen = len;
  }
  const ids = new BigInt64Array(batch * seqLen);
  // Ids are small and non-negative, so on little-endian hosts writing the low 32-bit half of each
  // int64 is exact and avoids allocating a BigInt per token.
  const low = LITTLE_ENDIAN ? new Int32Array(ids.buffer) : null;
  const mask = new Float32Array(batch * seqLen);
  for (let i = 0; i < batch; i++) {
    const enc = encoded[i]!;
    const row = i * seqLen;
    for (let j = 0; j < enc.length; j++) {
      const id = enc[j]!;
      if (low) low[(row + j) * 2] = id;
      else ids[row + j] = BigInt(id);
      if (id > UNK_ID) mask[row + j] = 1;
    }
  }
  return { ids, mask, batch, seqLen, lengths };
}

/** Cheap estimate of the words in `text` (no vocabulary lookup), for token budgets before encoding. */
export function countTokens(text: string): number {
  let n = 0;
  WORD_RE.lastIndex = 0;
  while (WORD_RE.exec(text) !== null) n++;
  return n;
}

function normalise(text: string): string {
  const lower = text.toLowerCase();
  if (!NON_ASCII_RE.test(lower)) return lower;
  // The vocabulary is pure ASCII ("cafe", "naive"), so accents are folded rather than lost as unknowns.
  return lower.normalize("NFKD").replace(COMBINING_MARKS_RE, "").replace(CURLY_APOSTROPHES_RE, "'");
}
