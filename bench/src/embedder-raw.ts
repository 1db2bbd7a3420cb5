import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildGloveModel, mulberry32 } from "@tailor/models";

/** The part of an embedder this bench drives (OnnxEmbedder satisfies it). */
export interface RawEmbedder {
  embed(texts: readonly string[]): Promise<{ readonly tokenCounts: Uint32Array }>;
}

/** Options of {@link measureRawEmbedder}. */
export interface RawEmbedderBenchOptions {
  /** Texts per `embed` call, as a caller would send them. */
  readonly batchSize?: number;
  /** Embed one batch first, untimed, so session warm-up does not count. */
  readonly warmup?: boolean;
}

/** Throughput of direct `embed` calls, no batcher or RPC in between. */
export interface RawEmbedderMeasurement {
  readonly sentences: number;
  readonly tokens: number;
  readonly seconds: number;
  readonly sentencesPerSecond: number;
  readonly tokensPerSecond: number;
}

/** Times `embed` over `texts` in batches; prints nothing. */
export async function measureRawEmbedder(
  embedder: RawEmbedder,
  texts: readonly string[],
  opts: RawEmbedderBenchOptions = {},
): Promise<RawEmbedderMeasurement> {
  const batchSize = opts.batchSize ?? 256;
  if (opts.warmup ?? true) await embedder.embed(texts.slice(0, batchSize));
  let tokens = 0;
  const started = performance.now();
  for (let i = 0; i < texts.length; i += batchSize) {
    const { tokenCounts } = await embedder.embed(texts.slice(i, i + batchSize));
    for (const n of tokenCounts) tokens += n;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    sentences: texts.length,
    tokens,
    seconds,
    sentencesPerSecond: texts.length / seconds,
    tokensPerSecond: tokens / seconds,
  };
}

/** Deterministic pseudo-sentences: 5–40 words drawn Zipf-like from the vocabulary's frequent words. */
export function syntheticSentences(vocab: readonly string[], count: number, seed = 42): string[] {
  const rand = mulberry32(seed);
  const pool = Math.min(vocab.length, 50_000);
  const out: string[] = [];
  for (let s = 0; s < count; s++) {
    const len = 5 + Math.floor(rand() * 36);
    const words: string[] = [];
    for (let w = 0; w < len; w++) words.push(vocab[Math.floor(pool ** rand())] ?? "the");
    out.push(`${words.join(" ")}.`);
  }
  return out;
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? join(tmpdir(), "tailor-test-models");
  const files = await buildGloveModel({ outDir });
  // Only the runtime module: the package entry also loads the RPC service, which a raw bench avoids.
  const { OnnxEmbedder } = await import("../../services/model-server/src/runtime/embedder.js");
  const embedder = await OnnxEmbedder.load(files.dir, { maxTokens: 256 });
  const vocab = (await readFile(files.vocabPath, "utf8")).split("\n").slice(2);
  const texts = syntheticSentences(vocab, 5000);
  // Each pass is well under a second, so report the median of a few to damp scheduler noise.
  const runs: RawEmbedderMeasurement[] = [];
  for (let i = 0; i < 5; i++) runs.push(await measureRawEmbedder(embedder, texts));
  runs.sort((a, b) => a.sentencesPerSecond - b.sentencesPerSecond);
  const m = runs[Math.floor(runs.length / 2)]!;
  await embedder.close();
  const line = (metric: string, value: number, unit: string) =>
    console.log(
      JSON.stringify({ bench: "embedder", metric, value: Math.round(value * 10) / 10, unit }),
    );
  line("sentences_per_s", m.sentencesPerSecond, "1/s");
  line("tokens_per_s", m.tokensPerSecond, "1/s");
  line("seconds", m.seconds, "s");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
