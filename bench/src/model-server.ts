import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import { Stack } from "@tailor/deploy-local";
import { percentile } from "@tailor/eval";
import { buildGloveModel } from "@tailor/models";
import { mulberry32 } from "@tailor/models/random";
import {
  MINILM_SHAPE,
  TINY_WORDS,
  writeLlamaFolder,
  writeModelFolder,
} from "@tailor/models/testing";
import { ModelService } from "@tailor/proto";
import { freePort, ROOT, testNatsUrl } from "@tailor/testing";
import { OnnxEmbedder } from "../../services/model-server/src/runtime/embedder.js";
import { EncoderModel } from "../../services/model-server/src/runtime/encoder.js";
import { syntheticSentences } from "./embedder-raw.js";
import { GENERATION_BENCH_MODEL, main as generationBench } from "./generation.js";

/**
 * ModelService.Embed under load from many callers (one text per request, so only the server's
 * dynamic batcher can form batches), at concurrency 1, 16 and 64, next to the same model called
 * directly in-process (tokeniser + onnxruntime session, no RPC) with batches of the same size.
 */
const emit = (metric: string, value: number, unit: string) =>
  console.log(
    JSON.stringify({ bench: "model-server", metric, value: Number(value.toFixed(4)), unit }),
  );

interface Raw {
  embed(texts: readonly string[]): Promise<{ tokenCounts: Uint32Array }>;
}

async function rawThroughput(
  model: Raw,
  texts: string[],
  batch: number,
  seconds: number,
): Promise<{ sps: number; tps: number }> {
  await model.embed(texts.slice(0, batch));
  let n = 0;
  let tokens = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const off = (n * batch) % Math.max(1, texts.length - batch);
    const r = await model.embed(texts.slice(off, off + batch));
    for (const t of r.tokenCounts) tokens += t;
    n++;
  }
  const s = (performance.now() - start) / 1000;
  return { sps: (n * batch) / s, tps: tokens / s };
}

async function serviceThroughput(
  url: string,
  model: string,
  texts: string[],
  concurrency: number,
  seconds: number,
): Promise<{ sps: number; tps: number; p50: number; p99: number }> {
  const client = createClient(ModelService, createGrpcTransport({ baseUrl: url }));
  for (let i = 0; i < concurrency; i++)
    await client.embed({ model, texts: [texts[i % texts.length]!] });
  const lat: number[] = [];
  let tokens = 0;
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const r = await client.embed({ model, texts: [texts[next++ % texts.length]!] });
        lat.push(performance.now() - t);
        tokens += r.tokenCounts[0] ?? 0;
      }
    }),
  );
  const s = (performance.now() - start) / 1000;
  return {
    sps: lat.length / s,
    tps: tokens / s,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

export async function main(): Promise<void> {
  const seconds = Number(process.env["BENCH_SECONDS"] ?? 6);
  const modelDir = process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models");
  const work = mkdtempSync(join(tmpdir(), "tailor-ms-bench-"));
  try {
    // Models: the built-in GloVe embedder and a MiniLM-shaped encoder (random weights).
    const glove = await buildGloveModel({ outDir: modelDir });
    const gloveVocab = (await readFile(glove.vocabPath, "utf8")).split("\n").slice(2, 50_002);
    const gloveTexts = syntheticSentences(gloveVocab, 4000);
    // Published once into the shared model dir (also the server's artifact store), then reused.
    const artifacts = modelDir;
    const minilmDir = join(artifacts, "minilm-shaped", "1");
    if (!existsSync(join(minilmDir, "tailor-manifest.json"))) {
      const src = join(work, "minilm");
      await writeModelFolder(src, {
        kind: "embedder",
        bert: { ...MINILM_SHAPE, std: 0.02 },
        vocabSize: 30522,
        name: "minilm-shaped",
      });
      await publishArtifact(src, "minilm-shaped", "1", { root: artifacts });
    }
    const llamaDir = join(artifacts, "bench-llama", "1");
    if (!existsSync(join(llamaDir, "tailor-manifest.json"))) {
      const src = join(work, "llama");
      await writeLlamaFolder({ dir: src, model: GENERATION_BENCH_MODEL });
      await publishArtifact(src, "bench-llama", "1", { root: artifacts });
    }
    const rand = mulberry32(5);
    // 126 words from the tokenizer's own vocabulary: [CLS] + 126 + [SEP] = 128 tokens.
    const minilmTexts = Array.from({ length: 512 }, () =>
      Array.from({ length: 126 }, () => TINY_WORDS[Math.floor(rand() * TINY_WORDS.length)]).join(
        " ",
      ),
    );

    const stack = new Stack({
      root: ROOT,
      logs: false,
      ports: { "model-server": await freePort() },
      env: {
        ...process.env,
        TAILOR_NATS_URL: testNatsUrl(),
        TAILOR_MODEL_SERVER_MODEL_DIR: artifacts,
        TAILOR_MODEL_SERVER_PRELOAD: "minilm-shaped@1,bench-llama@1",
        TAILOR_LOG_LEVEL: "warn",
      },
    });
    stack.startAll(["model-server"]);
    try {
      await stack.waitHealthy(300_000);
      const url = stack.url("model-server");
      const gloveRaw = await OnnxEmbedder.load(glove.dir, { executionProvider: "cpu" });
      const minilmRaw = await EncoderModel.load(minilmDir, { executionProvider: "cpu" });
      for (const [label, model, texts, raw] of [
        ["glove", "", gloveTexts, gloveRaw],
        ["minilm", "minilm-shaped", minilmTexts, minilmRaw],
      ] as const) {
        let c1 = 0;
        for (const c of [1, 16, 64]) {
          const svc = await serviceThroughput(url, model, texts, c, seconds);
          const r = await rawThroughput(raw, texts, c, seconds);
          if (c === 1) c1 = svc.sps;
          emit(`${label}_service_sentences_per_s_c${c}`, svc.sps, "sentences/s");
          emit(`${label}_service_tokens_per_s_c${c}`, svc.tps, "tokens/s");
          emit(`${label}_service_p50_ms_c${c}`, svc.p50, "ms");
          emit(`${label}_service_p99_ms_c${c}`, svc.p99, "ms");
          emit(`${label}_raw_sentences_per_s_batch${c}`, r.sps, "sentences/s");
          emit(`${label}_service_vs_raw_ratio_c${c}`, svc.sps / r.sps, "ratio");
          if (c === 64) emit(`${label}_batching_gain_c64_vs_c1`, svc.sps / c1, "ratio");
        }
      }
      await gloveRaw.close();
      await minilmRaw.close();
      // Generation through the service: streams of 64 greedy tokens, 1 and 8 at once.
      const client = createClient(ModelService, createGrpcTransport({ baseUrl: url }));
      const stream = async (i: number) => {
        let n = 0;
        for await (const m of client.generate({
          model: "bench-llama",
          prompt: `Prompt number ${i} says`,
          params: { maxTokens: 64 },
        })) {
          if (m.usage) n = m.usage.completionTokens;
        }
        return n;
      };
      await Promise.all([0, 1].map(stream));
      for (const c of [1, 8]) {
        const runs: number[] = [];
        for (let r = 0; r < 3; r++) {
          const t = performance.now();
          const tokens = (await Promise.all(Array.from({ length: c }, (_, i) => stream(i)))).reduce(
            (a, b) => a + b,
            0,
          );
          runs.push(tokens / ((performance.now() - t) / 1000));
        }
        runs.sort((a, b) => a - b);
        emit(`generate_rpc_tokens_per_s_c${c}`, runs[1]!, "tokens/s");
      }
    } finally {
      await stack.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  await generationBench();
}

await main();
