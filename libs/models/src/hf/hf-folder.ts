import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "@tailor/config";

/** A model folder could not be loaded: a file is missing, unreadable or invalid. */
export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";
  readonly code = "model_load_failed";
  constructor(
    message: string,
    readonly dir: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Returns true when `err` is a {@link ModelLoadError}. */
export function isModelLoadError(err: unknown): err is ModelLoadError {
  return err instanceof ModelLoadError;
}

/** What a model folder holds, as far as the model-server is concerned. */
export type ModelKind = "embedder" | "reranker" | "classifier" | "causal-lm" | "adapter";
/** How token vectors become one sentence vector. */
export type PoolingMode = "mean" | "cls" | "last";

const kindSchema = z.enum(["embedder", "reranker", "classifier", "causal-lm", "adapter"]);
const poolingSchema = z.enum(["mean", "cls", "last"]);

/** The fields of `config.json` Tailor reads; all others are kept as they are. */
export const hfModelConfigSchema = z.looseObject({
  architectures: z.array(z.string()).optional(),
  model_type: z.string().optional(),
  hidden_size: z.number().int().positive().optional(),
  num_hidden_layers: z.number().int().positive().optional(),
  num_attention_heads: z.number().int().positive().optional(),
  intermediate_size: z.number().int().positive().optional(),
  max_position_embeddings: z.number().int().positive().optional(),
  type_vocab_size: z.number().int().nonnegative().optional(),
  vocab_size: z.number().int().positive().optional(),
  num_labels: z.number().int().positive().optional(),
  id2label: z.record(z.string(), z.string()).optional(),
  problem_type: z
    .enum(["regression", "single_label_classification", "multi_label_classification"])
    .nullable()
    .optional(),
  pad_token_id: z.number().int().nullable().optional(),
  // Tailor extensions: an explicit kind, pooling and normalisation, and adapter wiring.
  tailor_kind: kindSchema.optional(),
  pooling: poolingSchema.optional(),
  normalize: z.boolean().optional(),
  base: z.string().optional(),
  dimensions: z.number().int().positive().optional(),
  name: z.string().optional(),
  version: z.string().optional(),
});
/** Parsed `config.json`. */
export type HfModelConfig = z.infer<typeof hfModelConfigSchema>;

const tokenizerConfigSchema = z.looseObject({
  model_max_length: z.number().optional(),
  pad_token: z
    .union([z.string(), z.looseObject({ content: z.string() })])
    .nullable()
    .optional(),
  do_lower_case: z.boolean().optional(),
});
/** Parsed `tokenizer_config.json` (empty when the folder has none). */
export type HfTokenizerConfig = z.infer<typeof tokenizerConfigSchema>;

const tokenizerJsonSchema = z.looseObject({
  model: z.looseObject({ type: z.string().optional() }),
  added_tokens: z.array(z.looseObject({ id: z.number(), content: z.string() })).optional(),
  padding: z.looseObject({ pad_id: z.number().optional() }).nullable().optional(),
});

// sentence-transformers keeps pooling in a module folder, usually `1_Pooling`.
const stPoolingSchema = z.looseObject({
  pooling_mode_cls_token: z.boolean().optional(),
  pooling_mode_mean_tokens: z.boolean().optional(),
  pooling_mode_lasttoken: z.boolean().optional(),
});
const stModulesSchema = z.array(z.looseObject({ path: z.string(), type: z.string() }));

/** A validated Hugging Face / Optimum model folder. */
export interface HfFolder {
  readonly dir: string;
  /** `config.json` `name`, else the folder's base name. */
  readonly name: string;
  readonly kind: ModelKind;
  readonly modelPath: string;
  readonly modelBytes: number;
  readonly config: HfModelConfig;
  /** Raw `config.json`, for hashing into a version. */
  readonly configText: string;
  /** Parsed `tokenizer.json`; absent only for adapters, which reuse their base's tokenizer. */
  readonly tokenizerJson?: Record<string, unknown>;
  readonly tokenizerConfig: HfTokenizerConfig;
  readonly generationConfig?: Record<string, unknown>;
  readonly pooling: PoolingMode;
  readonly normalize: boolean;
  /** Class labels by id (classifiers); `LABEL_i` fills gaps in `id2label`. */
  readonly labels: readonly string[];
  readonly multiLabel: boolean;
}

/**
 * Reads and validates `<dir>/{model.onnx,config.json,tokenizer.json}` plus the optional
 * `tokenizer_config.json`, `generation_config.json` and sentence-transformers pooling config.
 * Throws {@link ModelLoadError} naming the first missing or invalid file.
 */
export async function loadHfFolder(dir: string): Promise<HfFolder> {
  const configText = await readRequired(dir, "config.json");
  const config = parseJson(dir, "config.json", configText, hfModelConfigSchema);
  const kind = detectModelKind(config, dir);
  const modelPath = join(dir, "model.onnx");
  const modelBytes = await fileSize(dir, "model.onnx");

  let tokenizerJson: Record<string, unknown> | undefined;
  if (kind !== "adapter") {
    const text = await readRequired(dir, "tokenizer.json");
    tokenizerJson = parseJson(dir, "tokenizer.json", text, tokenizerJsonSchema);
  } else if (config.dimensions === undefined) {
    throw new ModelLoadError(`config.json of adapter ${dir} has no "dimensions"`, dir);
  }
  const tokenizerConfigText = await readOptional(dir, "tokenizer_config.json");
  const tokenizerConfig =
    tokenizerConfigText === null
      ? {}
      : parseJson(dir, "tokenizer_config.json", tokenizerConfigText, tokenizerConfigSchema);
  const generationText = await readOptional(dir, "generation_config.json");
  const generationConfig =
    generationText === null
      ? undefined
      : parseJson(dir, "generation_config.json", generationText, z.looseObject({}));

  const labels = labelsOf(config);
  return {
    dir,
    name: config.name ?? basename(dir),
    kind,
    modelPath,
    modelBytes,
    config,
    configText,
    ...(tokenizerJson && { tokenizerJson }),
    tokenizerConfig,
    ...(generationConfig && { generationConfig }),
    pooling: config.pooling ?? (await sentenceTransformersPooling(dir)) ?? "mean",
    normalize: config.normalize ?? true,
    labels,
    multiLabel: config.problem_type === "multi_label_classification",
  };
}

/**
 * Decides what a folder holds from `config.json`: `tailor_kind` wins; otherwise the first of
 * `architectures` (`*ForSequenceClassification` with one label is a cross-encoder reranker, with
 * more a classifier; `*ForCausalLM` a causal LM; a bare `*Model` an embedder). A config without
 * `architectures` is taken as an embedder, as Optimum feature-extraction exports often are.
 */
export function detectModelKind(config: HfModelConfig, dir = ""): ModelKind {
  if (config.tailor_kind) return config.tailor_kind;
  const arch = config.architectures?.[0];
  if (arch === undefined) return "embedder";
  if (arch.endsWith("ForSequenceClassification"))
    return labelCount(config) === 1 ? "reranker" : "classifier";
  if (arch.endsWith("ForCausalLM")) return "causal-lm";
  if (arch.endsWith("Model")) return "embedder";
  throw new ModelLoadError(`unsupported architecture ${arch} in ${join(dir, "config.json")}`, dir);
}

function labelCount(config: HfModelConfig): number {
  if (config.id2label) return Object.keys(config.id2label).length;
  // transformers' PretrainedConfig defaults to two labels when neither field is given.
  return config.num_labels ?? 2;
}

function labelsOf(config: HfModelConfig): string[] {
  const n = Math.max(labelCount(config), config.num_labels ?? 0);
  const labels: string[] = [];
  for (let i = 0; i < n; i++) labels.push(config.id2label?.[String(i)] ?? `LABEL_${i}`);
  return labels;
}

async function sentenceTransformersPooling(dir: string): Promise<PoolingMode | undefined> {
  let poolingDir = "1_Pooling";
  const modulesText = await readOptional(dir, "modules.json");
  if (modulesText !== null) {
    const modules = parseJson(dir, "modules.json", modulesText, stModulesSchema);
    const pooling = modules.find((m) => m.type.endsWith(".Pooling"));
    if (pooling) poolingDir = pooling.path;
  }
  const text = await readOptional(dir, join(poolingDir, "config.json"));
  if (text === null) return undefined;
  const st = parseJson(dir, join(poolingDir, "config.json"), text, stPoolingSchema);
  if (st.pooling_mode_cls_token) return "cls";
  if (st.pooling_mode_lasttoken) return "last";
  if (st.pooling_mode_mean_tokens) return "mean";
  throw new ModelLoadError(
    `${join(dir, poolingDir, "config.json")} uses an unsupported pooling mode`,
    dir,
  );
}

async function readRequired(dir: string, file: string): Promise<string> {
  const text = await readOptional(dir, file);
  if (text === null) throw new ModelLoadError(`model folder ${dir} has no ${file}`, dir);
  return text;
}

async function readOptional(dir: string, file: string): Promise<string | null> {
  try {
    return await readFile(join(dir, file), "utf8");
  } catch (err) {
    if (isNotFound(err)) return null;
    throw new ModelLoadError(`cannot read ${file} in ${dir}`, dir, { cause: err });
  }
}

async function fileSize(dir: string, file: string): Promise<number> {
  try {
    return (await stat(join(dir, file))).size;
  } catch (err) {
    if (isNotFound(err)) throw new ModelLoadError(`model folder ${dir} has no ${file}`, dir);
    throw new ModelLoadError(`cannot read ${file} in ${dir}`, dir, { cause: err });
  }
}

function parseJson<T extends z.ZodType>(
  dir: string,
  file: string,
  text: string,
  schema: T,
): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${file} in ${dir} is not valid JSON`, dir, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "(root)";
    throw new ModelLoadError(`${file} in ${dir} is invalid at ${where}: ${issue?.message}`, dir, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function isNotFound(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    "code" in err &&
    (err as { code: unknown }).code === "ENOENT"
  );
}
