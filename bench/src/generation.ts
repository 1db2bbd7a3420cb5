import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeLlamaFolder } from "@tailor/models/testing";
import type { CausalLm } from "../../services/model-server/src/runtime/causal-lm.js";

/** Shape of the benchmarked decoder: small enough for CPU CI, big enough that the model dominates. */
export const GENERATION_BENCH_MODEL = {
  layers: 4,
  hidden: 256,
  heads: 8,
  kvHeads: 4,
  intermediate: 704,
  maxPositions: 512,
  ropeTheta: 10000,
  seed: 1,
} as const;

const PROMPTS = [
  "Once upon a time",
  "The quick brown fox",
  "Tailor serves models",
  "In the end the model said",
  "Numbers like 1, 2, 3",
  "Café crème and déjà vu",
  "It read the words one by one",
  "The dog sleeps in the sun",
];

/** Throughput of `concurrency` greedy streams of `newTokens` each, started together. */
export async function measureGeneration(
  lm: CausalLm,
  concurrency: number,
  newTokens: number,
): Promise<{ tokens: number; seconds: number; tokensPerSecond: number }> {
  const started = performance.now();
  const counts = await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      let tokens = 0;
      const prompt = PROMPTS[i % PROMPTS.length]!;
      for await (const e of lm.generate(prompt, { maxTokens: newTokens, temperature: 0 })) {
        if ("finish" in e) tokens = e.usage.completionTokens;
      }
      return tokens;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const tokens = counts.reduce((a, b) => a + b, 0);
  return { tokens, seconds, tokensPerSecond: tokens / seconds };
}

/** Builds the bench model in a temp folder and prints one JSON line per concurrency level. */
export async function main(): Promise<void> {
  const dir = join(tmpdir(), `tailor-bench-llama-${process.pid}`);
  await writeLlamaFolder({ dir, model: GENERATION_BENCH_MODEL });
  // Only the runtime module: the package entry also loads the RPC service, which a raw bench avoids.
  const { CausalLm } = await import("../../services/model-server/src/runtime/causal-lm.js");
  const lm = await CausalLm.load(dir, { maxConcurrentStreams: 8 });
  try {
    await measureGeneration(lm, 8, 8);
    for (const concurrency of [1, 8]) {
      // Median of three damps scheduler noise on shared CI machines.
      const runs: number[] = [];
      for (let i = 0; i < 3; i++)
        runs.push((await measureGeneration(lm, concurrency, 64)).tokensPerSecond);
      runs.sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          bench: "model-server",
          metric: `generate_tokens_per_s_c${concurrency}`,
          value: Math.round(runs[1]! * 10) / 10,
          unit: "tokens/s",
        }),
      );
    }
  } finally {
    await lm.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
