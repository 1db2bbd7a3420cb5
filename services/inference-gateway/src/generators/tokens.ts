/**
 * Token counts where no tokenizer reports them (the extractive generator, an upstream that sends
 * no usage): one token per 4 UTF-16 code units, rounded up — the usual rule of thumb for English
 * BPE vocabularies. O(1) on any string, and the same formula everywhere, so budgets reserved and
 * settled with it agree with each other.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
