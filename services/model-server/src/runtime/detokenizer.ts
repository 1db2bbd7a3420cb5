import type { Tokenizer } from "@huggingface/tokenizers";

/** Minimal decoding contract of a tokenizer. */
export interface TokenDecoder {
  decode(ids: number[]): string;
}

/** Turns generated token ids into text deltas that never split a character. */
export interface Detokenizer {
  /** Adds one token; returns the text it completes ("" while a character is incomplete). */
  push(id: number): string;
  /** Text still held at the end, minus an incomplete trailing character. */
  flush(): string;
}

/**
 * Exact streaming decode for byte-level tokenizers: each token is a fixed byte string, and a
 * streaming UTF-8 decoder holds exactly the bytes of an unfinished character, no more.
 */
export class ByteDetokenizer implements Detokenizer {
  private readonly utf8 = new TextDecoder("utf-8");

  /** `tokenBytes` returns null for tokens that produce no text (special tokens). */
  constructor(private readonly tokenBytes: (id: number) => Uint8Array | null) {}

  push(id: number): string {
    const bytes = this.tokenBytes(id);
    return bytes ? this.utf8.decode(bytes, { stream: true }) : "";
  }

  flush(): string {
    // Bytes of a character the model never finished decode to U+FFFD; they are not text.
    return this.utf8.decode().replace(/\uFFFD+$/u, "");
  }
}

/**
 * Turns a growing list of token ids into text deltas. Decodes a short window (the ids since the
 * last emitted text plus a few before it, for context-dependent decoders) and holds text while it
 * ends in U+FFFD, i.e. while a multi-byte character is split across tokens.
 */
export class IncrementalDetokenizer implements Detokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly decoder: TokenDecoder) {}

  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decoder.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decoder.decode(this.ids.slice(this.prefixOffset));
    if (full.length > prefix.length && !full.endsWith("\uFFFD")) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return "";
  }

  flush(): string {
    const prefix = this.decoder.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decoder.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    const rest = full.length > prefix.length ? full.slice(prefix.length) : "";
    return rest.replace(/\uFFFD+$/u, "");
  }
}

/**
 * A detokenizer per stream for `tokenizer`. Byte-level tokenizers (GPT-2, Llama 3, the generated test ones) get the exact byte-stream
 * detokenizer; others fall back to re-decoding a short window of ids per token.
 */
export function detokenizerFactory(
  tokenizer: Tokenizer,
  decoderType: string | undefined,
): () => Detokenizer {
  if (decoderType !== "ByteLevel") {
    const decoder = {
      // tokenizers.js throws on an empty id list rather than returning "".
      decode: (ids: number[]) =>
        ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: true }),
    };
    return (): Detokenizer => new IncrementalDetokenizer(decoder);
  }
  const special = new Set<number>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder())
    if (token.special) special.add(id);
  const byteOf = new Map<string, number>(bytesToUnicode().map((ch, b) => [ch, b]));
  const encoder = new TextEncoder();
  const table = new Map<number, Uint8Array | null>();
  const tokenBytes = (id: number): Uint8Array | null => {
    let bytes = table.get(id);
    if (bytes !== undefined) return bytes;
    const token = special.has(id) ? undefined : tokenizer.id_to_token(id);
    if (token === undefined) bytes = null;
    else {
      const chars: string[] = Array.from(token);
      // Added (non-special) tokens hold plain text rather than byte-mapped characters.
      bytes = chars.every((c) => byteOf.has(c))
        ? Uint8Array.from(chars, (c) => byteOf.get(c)!)
        : encoder.encode(token);
    }
    table.set(id, bytes);
    return bytes;
  };
  return (): Detokenizer => new ByteDetokenizer(tokenBytes);
}

/** GPT-2's reversible byte → printable character table, which ByteLevel tokens are written in. */
function bytesToUnicode(): string[] {
  const out: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const direct = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCodePoint(direct ? b : 256 + shifted++);
  }
  return out;
}
