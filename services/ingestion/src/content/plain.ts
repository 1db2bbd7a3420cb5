import type { OutputBudget } from "./limits.js";
import type { Block } from "./types.js";

/** Splits plain text into paragraph blocks at blank lines. */
export function extractPlain(text: string, budget: OutputBudget): Block[] {
  const blocks: Block[] = [];
  for (const part of text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
    const trimmed = part.trim();
    if (trimmed.length === 0) continue;
    budget.spend(trimmed);
    blocks.push({ kind: "paragraph", text: trimmed });
  }
  return blocks;
}
