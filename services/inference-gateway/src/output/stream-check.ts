import type { WindowVerdict } from "../types.js";
import { align, mapCut } from "./align.js";

/** The output check of one window of answer text (e.g. the guard's CheckOutput). */
export type WindowCheck = (text: string) => Promise<WindowVerdict>;
export type OutputAction = WindowVerdict["action"];

const SEVERITY: Record<OutputAction, number> = { allow: 0, flag: 1, redact: 2, block: 3 };

/**
 * A sentence ends at `.`, `!`, `?` or `…` (with closing quotes or brackets) followed by space and
 * a character that is not a lower-case letter, or at a line break. The match ends where the
 * next sentence starts.
 */
const BOUNDARY = /[.!?…]+["'”’»)\]]*[ \t\f\r\n]+(?=[^\s\p{Ll}])|\n[ \t\f\r\n]*/gu;
/** Characters past the window looked at for a boundary's confirming character. */
const BOUNDARY_SLACK = 64;

/**
 * Holds back streamed answer text until the output check has passed it, so streaming cannot
 * bypass the check.
 *
 * `push(delta)` returns the text that may be sent now; `finish()` the rest. Text is checked in
 * windows that end at sentence boundaries; when no boundary comes within `holdBackChars`, the
 * window is cut at a space near that length. Every check also sees a lookahead of
 * `holdBackChars / 2` characters past the cut (the tail, kept and checked again with the next
 * text), so a span cut at the window's edge is caught whole when it is no longer than the tail;
 * where the check changed text across the cut, the cut moves before (or past) that change.
 * What is released is always a prefix of a check's verdict text: a redaction replaces only its
 * span, and `block` stops the stream (`stopped`, nothing more released). `sent` is exactly what
 * was released, for the audit event. At most `holdBackChars * 1.5` characters stay held between
 * calls. `holdBackChars` 0 checks and releases each delta on its own (no protection for a span
 * split across deltas).
 *
 * `check` may be called on overlapping text (the tail is checked again), so it should not
 * record anything itself; calls are made one at a time, and push/finish are serialised. When
 * `check` throws, that call and every later one reject with its error (fail closed).
 */
export class StreamCheck {
  #held = "";
  #sent = "";
  #action: OutputAction = "allow";
  #stopped = false;
  #finished = false;
  #checks = 0;
  #failure: { error: unknown } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #window: number;
  readonly #tail: number;

  constructor(
    private readonly check: WindowCheck,
    holdBackChars: number,
  ) {
    if (!Number.isInteger(holdBackChars) || holdBackChars < 0)
      throw new RangeError("holdBackChars must be an integer ≥ 0");
    this.#window = holdBackChars;
    this.#tail = Math.floor(holdBackChars / 2);
  }

  /** True once a window was blocked: nothing more is released. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Everything released so far, exactly as it was sent. */
  get sent(): string {
    return this.#sent;
  }

  /** The strictest action applied to released text (`block` once stopped). */
  get action(): OutputAction {
    return this.#action;
  }

  /** Characters received and not yet released. */
  get pending(): number {
    return this.#held.length;
  }

  /** How many times `check` was called. */
  get checks(): number {
    return this.#checks;
  }

  /** Takes the next piece of answer text; resolves to the text that may be sent now. */
  push(delta: string): Promise<string> {
    return this.#serial(async () => {
      if (this.#finished) throw new Error("StreamCheck.push after finish");
      if (this.#stopped || delta === "") return "";
      this.#held += delta;
      return this.#drain(this.#window === 0);
    });
  }

  /** Checks and returns everything still held; the stream is over after it. */
  finish(): Promise<string> {
    return this.#serial(async () => {
      if (this.#finished) return "";
      const out = this.#stopped ? "" : await this.#drain(true);
      this.#finished = true;
      return out;
    });
  }

  /** One call at a time; after a failed check every later call fails the same way. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const guarded = async () => {
      if (this.#failure) throw this.#failure.error;
      try {
        return await fn();
      } catch (error) {
        this.#failure = { error };
        throw error;
      }
    };
    const run = this.#queue.then(guarded, guarded);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #drain(final: boolean): Promise<string> {
    let out = "";
    for (;;) {
      let released: string | undefined;
      try {
        released = await this.#step(final);
      } catch (error) {
        if (out === "") throw error;
        // What was released in this call goes out (it is in `sent`); the next call fails.
        this.#failure = { error };
        return out;
      }
      if (released === undefined) return out;
      out += released;
    }
  }

  /** Releases one window's worth; undefined when nothing more can be released now. */
  async #step(final: boolean): Promise<string | undefined> {
    const held = this.#held;
    if (held === "" || this.#stopped) return undefined;
    const w = this.#window;
    if (w === 0) return this.#close(held.length);
    let c = lastBoundary(held, w);
    if (c <= 0) {
      if (held.length <= w) return final ? this.#close(held.length) : undefined;
      c = forcedCut(held, Math.min(w, final ? held.length : held.length - this.#tail));
    }
    const windowText = held.slice(0, Math.min(held.length, c + this.#tail));
    if (windowText.length === c) return this.#close(c);
    const v = await this.#check(windowText);
    if (!v) return undefined;
    const cut = mapCut(align(windowText, v.text), c, windowText.length);
    if (cut && cut.a > 0) return this.#release(v, cut.b, cut.a, windowText);
    // The change spans the whole window: wait for more text while the hold-back allows.
    if (final || held.length >= w + this.#tail)
      return this.#release(v, v.text.length, windowText.length, windowText);
    return undefined;
  }

  /** Checks `held[0, n)` with nothing after it and releases the verdict. */
  async #close(n: number): Promise<string | undefined> {
    const windowText = this.#held.slice(0, n);
    const v = await this.#check(windowText);
    if (!v) return undefined;
    return this.#release(v, v.text.length, n, windowText);
  }

  async #check(text: string): Promise<WindowVerdict | undefined> {
    this.#checks++;
    const v = await this.check(text);
    if (v.action !== "block") return v;
    this.#stopped = true;
    this.#action = "block";
    this.#held = "";
    return undefined;
  }

  /** Sends `v.text[0, b)` in place of `held[0, a)`. */
  #release(v: WindowVerdict, b: number, a: number, windowText: string): string {
    const text = v.text.slice(0, b);
    const changed = text !== windowText.slice(0, a);
    if ((changed || v.action === "flag") && SEVERITY[v.action] > SEVERITY[this.#action])
      this.#action = v.action;
    this.#held = this.#held.slice(a);
    this.#sent += text;
    return text;
  }
}

/** End of the last complete sentence within `held[0, limit]`, or 0. */
function lastBoundary(held: string, limit: number): number {
  const scan = held.slice(0, limit + BOUNDARY_SLACK);
  let best = 0;
  for (const m of scan.matchAll(BOUNDARY)) {
    const end = m.index + m[0].length;
    if (end > limit) break;
    best = end;
  }
  return best;
}

/** A cut at or before `max` (≥ 1): after the last space in its second half, else at `max`. */
function forcedCut(held: string, max: number): number {
  const at = Math.max(1, max);
  const space = held.slice(0, at).search(/\s\S*$/);
  let c = space > at / 2 ? space + 1 : at;
  const code = held.charCodeAt(c - 1);
  if (c > 1 && code >= 0xd800 && code <= 0xdbff) c--;
  return c;
}
