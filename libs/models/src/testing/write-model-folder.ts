import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import type { PoolingMode } from "../hf/hf-folder.js";
import {
  buildWordPieceTokenizerJson,
  type WordPieceTokenizerJson,
  wordPieceTokenizerConfig,
} from "../hf/wordpiece-json.js";
import { buildTinyBert, seededNormal, type TinyBert, type TinyBertOptions } from "./bert-onnx.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** Encoder kinds {@link writeModelFolder} can write. */
export type TestEncoderKind = "embedder" | "reranker" | "classifier";

/** Options of {@link writeModelFolder}. */
export interface WriteModelFolderOptions {
  readonly kind: TestEncoderKind;
  /** Overrides of the tiny default (2 layers, hidden 32, 4 heads, intermediate 64, 64 positions). */
  readonly bert?: Partial<Omit<TinyBertOptions, "head" | "vocabSize">>;
  /** Where pooling is declared: `config.json` `pooling` (default) or a sentence-transformers `1_Pooling/`. */
  readonly pooling?: PoolingMode;
  readonly poolingStyle?: "config" | "sentence-transformers";
  /** Written as `normalize` in config.json when given. */
  readonly normalize?: boolean;
  /** Classifier labels by id (default negative/neutral/positive). */
  readonly labels?: readonly string[];
  readonly multiLabel?: boolean;
  /** tokenizer_config.json `model_max_length` (default: the model's max positions). */
  readonly modelMaxLength?: number;
  /** Leave tokenizer_config.json out (limits then come from config.json). */
  readonly omitTokenizerConfig?: boolean;
  readonly words?: readonly string[];
  /** Pads the vocabulary (and embedding table) to this size. */
  readonly vocabSize?: number;
  readonly name?: string;
}

/** A folder written by {@link writeModelFolder}. */
export interface WrittenModelFolder {
  readonly dir: string;
  readonly model: TinyBert;
  readonly tokenizer: WordPieceTokenizerJson;
  readonly config: Record<string, unknown>;
}

/** The tiny BERT shape tests use unless told otherwise. */
export const TINY_BERT_DEFAULTS = {
  layers: 2,
  hidden: 32,
  heads: 4,
  intermediate: 64,
  maxPositions: 64,
  typeVocab: 2,
  seed: 1,
  // Larger than BERT's 0.02 so attention is far from uniform and a masking bug shows in outputs.
  std: 0.1,
} as const;

/**
 * Writes a complete Hugging Face / Optimum-layout folder into `dir` (created if needed):
 * `model.onnx`, `config.json`, `tokenizer.json`, `tokenizer_config.json` and, for
 * sentence-transformers pooling, `modules.json` + `1_Pooling/config.json`.
 */
export async function writeModelFolder(
  dir: string,
  opts: WriteModelFolderOptions,
): Promise<WrittenModelFolder> {
  const tokenizer = buildWordPieceTokenizerJson({
    ...(opts.words && { words: opts.words }),
    ...(opts.vocabSize !== undefined && { vocabSize: opts.vocabSize }),
  });
  const labels = opts.labels ?? ["negative", "neutral", "positive"];
  const head = opts.kind === "embedder" ? "none" : opts.kind;
  const model = buildTinyBert({
    ...TINY_BERT_DEFAULTS,
    ...opts.bert,
    vocabSize: tokenizer.vocabSize,
    head,
    numLabels: opts.kind === "classifier" ? labels.length : 1,
  });
  const s = model.shape;
  const stPooling = opts.poolingStyle === "sentence-transformers";
  const config: Record<string, unknown> = {
    ...(opts.name && { name: opts.name }),
    architectures: [opts.kind === "embedder" ? "BertModel" : "BertForSequenceClassification"],
    model_type: "bert",
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    max_position_embeddings: s.maxPositions,
    type_vocab_size: s.typeVocab,
    vocab_size: s.vocabSize,
    hidden_act: "gelu",
    layer_norm_eps: 1e-12,
    pad_token_id: tokenizer.padId,
    ...(opts.kind === "reranker" && { id2label: { "0": "LABEL_0" }, label2id: { LABEL_0: 0 } }),
    ...(opts.kind === "classifier" && {
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
      problem_type: opts.multiLabel ? "multi_label_classification" : "single_label_classification",
    }),
    ...(opts.pooling && !stPooling && { pooling: opts.pooling }),
    ...(opts.normalize !== undefined && { normalize: opts.normalize }),
  };

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "model.onnx"), model.bytes);
  await writeJson(join(dir, "config.json"), config);
  await writeJson(join(dir, "tokenizer.json"), tokenizer.json);
  if (!opts.omitTokenizerConfig) {
    await writeJson(
      join(dir, "tokenizer_config.json"),
      wordPieceTokenizerConfig(opts.modelMaxLength ?? s.maxPositions),
    );
  }
  if (stPooling) {
    const mode = opts.pooling ?? "mean";
    await writeJson(join(dir, "modules.json"), [
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
    ]);
    await mkdir(join(dir, "1_Pooling"), { recursive: true });
    await writeJson(join(dir, "1_Pooling", "config.json"), {
      word_embedding_dimension: s.hidden,
      pooling_mode_cls_token: mode === "cls",
      pooling_mode_mean_tokens: mode === "mean",
      pooling_mode_max_tokens: false,
      pooling_mode_lasttoken: mode === "last",
    });
  }
  return { dir, model, tokenizer, config };
}

/** Options of {@link writeAdapterFolder}. */
export interface WriteAdapterFolderOptions {
  /** Name of the base embedder, written into config.json. */
  readonly base: string;
  readonly dimensions: number;
  readonly seed?: number;
  /** Spread of the random perturbation around the identity (default 0.1). */
  readonly std?: number;
}

/** An adapter folder written by {@link writeAdapterFolder}; `adapted = embeddings · weight + bias`. */
export interface WrittenAdapterFolder {
  readonly dir: string;
  /** Row-major [dimensions, dimensions]. */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/**
 * Writes an embedding adapter: `model.onnx` (`embeddings` [batch, D] → `adapted` [batch, D], a
 * linear layer near the identity) and `config.json` {"tailor_kind": "adapter", base, dimensions}.
 */
export async function writeAdapterFolder(
  dir: string,
  opts: WriteAdapterFolderOptions,
): Promise<WrittenAdapterFolder> {
  const d = opts.dimensions;
  const normal = seededNormal(opts.seed ?? 7);
  const std = opts.std ?? 0.1;
  const weight = new Float32Array(d * d);
  for (let i = 0; i < d * d; i++) weight[i] = (i % (d + 1) === 0 ? 1 : 0) + std * normal();
  const bias = new Float32Array(d);
  for (let i = 0; i < d; i++) bias[i] = std * normal();

  const raw = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const dims = (names: (string | number)[]) => ({
    dim: names.map((n) => (typeof n === "string" ? { dimParam: n } : { dimValue: n })),
  });
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      producerName: "tailor-models-testing",
      graph: {
        name: "linear_adapter",
        input: [
          {
            name: "embeddings",
            type: { tensorType: { elemType: FLOAT, shape: dims(["batch", d]) } },
          },
        ],
        output: [
          { name: "adapted", type: { tensorType: { elemType: FLOAT, shape: dims(["batch", d]) } } },
        ],
        initializer: [
          { name: "weight", dataType: FLOAT, dims: [d, d], rawData: raw(weight) },
          { name: "bias", dataType: FLOAT, dims: [d], rawData: raw(bias) },
        ],
        node: [
          {
            opType: "MatMul",
            input: ["embeddings", "weight"],
            output: ["projected"],
            name: "projected",
          },
          { opType: "Add", input: ["projected", "bias"], output: ["adapted"], name: "adapted" },
        ],
      },
    }),
  ).finish();

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "model.onnx"), bytes);
  await writeJson(join(dir, "config.json"), {
    tailor_kind: "adapter",
    base: opts.base,
    dimensions: d,
  });
  return { dir, weight, bias };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
