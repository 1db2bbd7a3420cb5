/** What {@link StopSequenceFilter.push} lets through. */
export interface StopFilterResult {
  /** Safe to send: cannot be part of a stop sequence. */
  readonly text: string;
  /** A stop sequence was found; `text` ends right before it and generation must end. */
  readonly stopped: boolean;
}

/**
 * Holds back any tail that could still grow into a stop sequence, so a stop string is never sent,
 * even in part, and is cut exactly where it starts.
 */
export class StopSequenceFilter {
  private pending = "";

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): StopFilterResult {
    const buf = this.pending + text;
    if (this.stops.length === 0) {
      this.pending = "";
      return { text: buf, stopped: false };
    }
    // Everything before `pending` was checked already and cannot start a match, so search from the
    // earliest place a match could begin.
    let cut = -1;
    for (const stop of this.stops) {
      const at = buf.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.pending = "";
      return { text: buf.slice(0, cut), stopped: true };
    }
    const hold = this.heldSuffix(buf);
    this.pending = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), stopped: false };
  }

  /** Releases what was held; call when generation ends for another reason. */
  flush(): string {
    const out = this.pending;
    this.pending = "";
    return out;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop sequence. */
  private heldSuffix(buf: string): number {
    let best = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, buf.length);
      for (let len = max; len > best; len--) {
        if (buf.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
