import { Action, type Verdict } from "@tailor/proto";
import type { ChatTurn } from "../types.js";

const SEPARATOR = "\n\n";

/**
 * The user's earlier turns as one text for one input check (an instruction in an earlier turn
 * steers the generator as much as one in the question), with where each turn starts in it.
 */
export function joinUserTurns(history: readonly ChatTurn[]): { text: string; starts: number[] } {
  const starts: number[] = [];
  let text = "";
  for (const t of history) {
    if (t.role !== "user") {
      starts.push(-1);
      continue;
    }
    if (text) text += SEPARATOR;
    starts.push(text.length);
    text += t.content;
  }
  return { text, starts };
}

/** The turns with the spans a redacting verdict of their joined text found replaced. */
export function redactTurns(
  history: readonly ChatTurn[],
  starts: readonly number[],
  v: Verdict,
): ChatTurn[] {
  if (v.action !== Action.REDACT) return [...history];
  const spans = [
    ...v.pii.map((f) => ({ start: f.start, end: f.end, label: `[${f.type}]` })),
    ...v.policy
      .filter((h) => h.action === Action.REDACT && h.end > h.start)
      .map((h) => ({ start: h.start, end: h.end, label: "[REDACTED]" })),
  ].sort((a, b) => a.start - b.start);
  return history.map((t, i) => {
    const start = starts[i] ?? -1;
    if (start < 0) return t;
    const end = start + t.content.length;
    const parts: string[] = [];
    let at = start;
    for (const s of spans) {
      // A span over the separator is cut at the turn's edges.
      const a = Math.max(s.start, start, at);
      const b = Math.min(s.end, end);
      if (b <= a) continue;
      parts.push(t.content.slice(at - start, a - start), s.label);
      at = b;
    }
    parts.push(t.content.slice(at - start));
    return { role: t.role, content: parts.join("") };
  });
}
