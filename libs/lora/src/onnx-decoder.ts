import type { onnx as Onnx } from "onnx-proto";
// onnx-proto is CommonJS whose exports Node's ESM loader cannot name, so take the default export.
import onnxProto from "onnx-proto";
import type { DecoderBlock, DecoderWeights, LoraParams } from "./lora-params.js";
import type { TargetModule } from "./spec.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * Initializer names of the tiny Llama decoder that `@tailor/models` generates
 * (`buildLlamaGraph`): block projections are `l<i>_w<q|k|v|o|gate|up|down>`, stored [in, out].
 * A decoder exported by Optimum names them differently; the reference worker refuses those.
 */
export const TINY_INITIALIZER: Readonly<Record<TargetModule, (layer: number) => string>> = {
  q_proj: (l) => `l${l}_wq`,
  k_proj: (l) => `l${l}_wk`,
  v_proj: (l) => `l${l}_wv`,
  o_proj: (l) => `l${l}_wo`,
  gate_proj: (l) => `l${l}_wgate`,
  up_proj: (l) => `l${l}_wup`,
  down_proj: (l) => `l${l}_wdown`,
};

/** The decoder's config.json fields the reference worker reads. */
export interface DecoderConfig {
  num_hidden_layers: number;
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  intermediate_size: number;
  vocab_size: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  head_dim?: number;
}

/** The base decoder cannot be adapted by this worker (not the tiny layout, wrong shapes). */
export class UnsupportedDecoderError extends Error {
  override readonly name = "UnsupportedDecoderError";
  readonly code = "unsupported_decoder";
}

/** A decoded ONNX model and the decoder weights read from its initializers. */
export interface LoadedDecoder {
  readonly model: Onnx.ModelProto;
  readonly weights: DecoderWeights;
}

const MAX_DIM = 1 << 16;

/** Reads the tiny decoder's weights out of `model.onnx` bytes, checked against config.json. */
export function loadTinyDecoder(bytes: Uint8Array, config: DecoderConfig): LoadedDecoder {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UnsupportedDecoderError("model.onnx is not an ONNX model", { cause: err });
  }
  const ints = [
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
  ] as const;
  for (const k of ints) {
    const v = config[k];
    if (!Number.isInteger(v) || v < 1 || v > MAX_DIM)
      throw new UnsupportedDecoderError(`config.json ${k} must be an integer in 1..${MAX_DIM}`);
  }
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const hidden = config.hidden_size;
  const headDim = config.head_dim ?? hidden / heads;
  if (
    !Number.isInteger(kvHeads) ||
    kvHeads < 1 ||
    heads % kvHeads !== 0 ||
    !Number.isInteger(headDim) ||
    headDim % 2 !== 0
  )
    throw new UnsupportedDecoderError(
      "config.json heads, key/value heads and head_dim do not fit together",
    );
  const byName = new Map<string, Onnx.ITensorProto>();
  for (const t of model.graph?.initializer ?? []) if (t.name) byName.set(t.name, t);
  const read = (name: string, dims: number[]): Float32Array => {
    const t = byName.get(name);
    if (!t)
      throw new UnsupportedDecoderError(
        `model.onnx has no initializer ${name}: this reference worker adapts only the tiny Llama decoder layout`,
      );
    const want = dims.join("x");
    const got = (t.dims ?? []).map(Number).join("x");
    if (t.dataType !== FLOAT || got !== want)
      throw new UnsupportedDecoderError(
        `initializer ${name} is ${got} (type ${t.dataType}), expected float ${want}`,
      );
    return tensorFloats(
      t,
      dims.reduce((a, b) => a * b, 1),
      name,
    );
  };
  const I = config.intermediate_size;
  const V = config.vocab_size;
  const blocks: DecoderBlock[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    blocks.push({
      inputNorm: read(`l${l}_input_norm`, [hidden]),
      q: read(TINY_INITIALIZER.q_proj(l), [hidden, heads * headDim]),
      k: read(TINY_INITIALIZER.k_proj(l), [hidden, kvHeads * headDim]),
      v: read(TINY_INITIALIZER.v_proj(l), [hidden, kvHeads * headDim]),
      o: read(TINY_INITIALIZER.o_proj(l), [heads * headDim, hidden]),
      postNorm: read(`l${l}_post_norm`, [hidden]),
      gate: read(TINY_INITIALIZER.gate_proj(l), [hidden, I]),
      up: read(TINY_INITIALIZER.up_proj(l), [hidden, I]),
      down: read(TINY_INITIALIZER.down_proj(l), [I, hidden]),
    });
  }
  const weights: DecoderWeights = {
    layers: config.num_hidden_layers,
    hidden,
    heads,
    kvHeads,
    headDim,
    intermediate: I,
    vocabSize: V,
    ropeTheta: config.rope_theta ?? 10_000,
    rmsNormEps: config.rms_norm_eps ?? 1e-6,
    embed: read("embed_tokens", [V, hidden]),
    blocks,
    finalNorm: read("final_norm", [hidden]),
    lmHead: read("lm_head", [hidden, V]),
  };
  return { model, weights };
}

/**
 * The ONNX model with every adapted projection replaced by W + scale·(B·A)ᵀ; every other
 * initializer, node and input is left as it was. Returns the bytes and the names rewritten.
 */
export function mergeLora(
  loaded: LoadedDecoder,
  lora: LoraParams,
  producer: string,
): { bytes: Uint8Array; rewritten: string[] } {
  const rewritten = new Map<string, Float32Array>();
  for (const s of lora.slots)
    rewritten.set(TINY_INITIALIZER[s.module](s.layer), lora.merged(loaded.weights, s));
  const graph = loaded.model.graph;
  if (!graph) throw new UnsupportedDecoderError("model.onnx has no graph");
  const initializer = (graph.initializer ?? []).map((t) => {
    const merged = t.name ? rewritten.get(t.name) : undefined;
    if (!merged) return t;
    return onnx.TensorProto.create({
      name: t.name,
      dataType: FLOAT,
      dims: t.dims,
      rawData: new Uint8Array(merged.buffer, merged.byteOffset, merged.byteLength),
    });
  });
  const out = onnx.ModelProto.create({
    ...loaded.model,
    producerName: producer,
    graph: onnx.GraphProto.create({ ...graph, initializer }),
  });
  return { bytes: onnx.ModelProto.encode(out).finish(), rewritten: [...rewritten.keys()].sort() };
}

/** Names of the initializers `module` adapts in a decoder of `layers` blocks. */
export function targetInitializers(modules: readonly TargetModule[], layers: number): string[] {
  const out: string[] = [];
  for (let l = 0; l < layers; l++) for (const m of modules) out.push(TINY_INITIALIZER[m](l));
  return out.sort();
}

/** The float values of a tensor, copied so they are aligned and independent of the model bytes. */
function tensorFloats(t: Onnx.ITensorProto, count: number, name: string): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * 4)
      throw new UnsupportedDecoderError(
        `initializer ${name} holds ${t.rawData.length} bytes, expected ${count * 4}`,
      );
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, 0, count);
  }
  if (t.floatData && t.floatData.length === count) return Float32Array.from(t.floatData);
  throw new UnsupportedDecoderError(`initializer ${name} holds no ${count} float values`);
}
