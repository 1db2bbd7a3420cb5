import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ByteLevelBpeOptions,
  buildByteLevelBpe,
  byteLevelBpeTokenizerConfig,
} from "./bpe-json.js";
import { encodeLlamaModel, LLAMA_BUILDER_VERSION } from "./llama-onnx.js";
import { createLlamaWeights, type LlamaWeights, type TinyLlamaSpec } from "./llama-weights.js";

/** Options of {@link writeLlamaFolder}; `vocabSize` comes from the tokenizer. */
export interface LlamaFolderOptions {
  readonly dir: string;
  readonly model: Omit<TinyLlamaSpec, "vocabSize">;
  readonly tokenizer?: ByteLevelBpeOptions;
  /** `generation_config.json` default for new tokens. */
  readonly maxNewTokens?: number;
}

/** What {@link writeLlamaFolder} wrote, with the weights so tests can run the reference on them. */
export interface LlamaFolder {
  readonly dir: string;
  readonly spec: TinyLlamaSpec;
  readonly weights: LlamaWeights;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly modelBytes: number;
}

const DEFAULT_MAX_NEW_TOKENS = 128;

/**
 * Writes a Hugging Face-shaped causal LM folder: model.onnx (Optimum decoder-with-past I/O),
 * config.json, tokenizer.json, tokenizer_config.json, generation_config.json.
 */
export async function writeLlamaFolder(opts: LlamaFolderOptions): Promise<LlamaFolder> {
  const bpe = buildByteLevelBpe(opts.tokenizer);
  const spec: TinyLlamaSpec = { ...opts.model, vocabSize: bpe.vocabSize };
  const weights = createLlamaWeights(spec);
  const model = encodeLlamaModel(weights);
  const config = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: spec.hidden,
    intermediate_size: spec.intermediate,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    num_key_value_heads: spec.kvHeads,
    head_dim: weights.headDim,
    vocab_size: spec.vocabSize,
    max_position_embeddings: spec.maxPositions,
    rope_theta: spec.ropeTheta,
    rms_norm_eps: weights.rmsNormEps,
    hidden_act: "silu",
    tie_word_embeddings: false,
    torch_dtype: "float32",
    bos_token_id: bpe.bosTokenId,
    eos_token_id: bpe.eosTokenId,
    use_cache: true,
    tailor_builder: { name: "tiny-llama", version: LLAMA_BUILDER_VERSION, seed: spec.seed },
  };
  const generation = {
    bos_token_id: bpe.bosTokenId,
    eos_token_id: bpe.eosTokenId,
    max_new_tokens: opts.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
    do_sample: false,
  };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await mkdir(opts.dir, { recursive: true });
  await Promise.all([
    writeFile(join(opts.dir, "model.onnx"), model),
    writeFile(join(opts.dir, "tokenizer.json"), json(bpe.tokenizerJson)),
    writeFile(
      join(opts.dir, "tokenizer_config.json"),
      json(byteLevelBpeTokenizerConfig(spec.maxPositions)),
    ),
    writeFile(join(opts.dir, "generation_config.json"), json(generation)),
  ]);
  // Written last so a present config.json means the folder is complete.
  await writeFile(join(opts.dir, "config.json"), json(config));
  return {
    dir: opts.dir,
    spec,
    weights,
    bosTokenId: bpe.bosTokenId,
    eosTokenId: bpe.eosTokenId,
    modelBytes: model.byteLength,
  };
}
