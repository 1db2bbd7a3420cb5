import type { onnx as Onnx } from "onnx-proto";
// onnx-proto is CommonJS whose exports Node's ESM loader cannot name, so take the default export.
import onnxProto from "onnx-proto";
import { intAttr, intsAttr, valueInfo } from "../onnx-helpers.js";
import {
  createLlamaWeights,
  type LlamaWeights,
  ropeInverseFrequencies,
  type TinyLlamaSpec,
} from "./llama-weights.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Bump when the graph changes: folders written by an older builder are then rebuilt. */
export const LLAMA_BUILDER_VERSION = 1;
/**
 * Additive bias for masked scores. Finite rather than -inf so a row whose keys are all masked
 * (a left-padded query in a batched prefill) softmaxes to a uniform row instead of NaN.
 */
export const MASK_BIAS = -1e9;

/** Input and output names, as Hugging Face Optimum exports decoder-with-past models. */
export const llamaIoNames = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  logits: "logits",
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
} as const;

/** Serialised ONNX ModelProto of a seeded Llama decoder (see {@link buildLlamaGraph}). */
export function buildTinyLlama(spec: TinyLlamaSpec): Uint8Array {
  return encodeLlamaModel(createLlamaWeights(spec));
}

/** Serialises already-created weights, for callers that also feed them to the reference. */
export function encodeLlamaModel(weights: LlamaWeights): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      producerName: "tailor-models",
      producerVersion: String(LLAMA_BUILDER_VERSION),
      docString: `tiny llama seed=${weights.spec.seed}`,
      graph: buildLlamaGraph(weights),
    }),
  ).finish();
}

/**
 * Llama decoder with KV cache:
 *   input_ids, position_ids int64 [B,S]; attention_mask int64 [B,P+S];
 *   past_key_values.{i}.{key,value} float [B,kv,P,hd]
 *   → logits float [B,S,V]; present.{i}.{key,value} float [B,kv,P+S,hd]
 * Query s (absolute slot P+s) sees key t when t ≤ P+s and attention_mask[t] = 1, so left padding
 * of the past works as long as position_ids carry each sequence's real positions.
 */
export function buildLlamaGraph(w: LlamaWeights): Onnx.IGraphProto {
  const { spec, headDim: d } = w;
  const { heads: h, kvHeads: kv, hidden, vocabSize } = spec;
  const half = d / 2;
  const nodes: Onnx.INodeProto[] = [];
  const initializer: Onnx.ITensorProto[] = [];
  const add = (
    op: string,
    input: string[],
    output: string,
    attribute: Onnx.IAttributeProto[] = [],
  ) => {
    nodes.push({ opType: op, input, output: [output], name: output, attribute });
    return output;
  };
  const weight = (name: string, dims: number[], data: Float32Array) => {
    // A view, not a copy: raw_data is little-endian, as are x86 and arm.
    initializer.push({
      name,
      dataType: FLOAT,
      dims,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  };
  const ints = (name: string, values: number[]) => {
    initializer.push({ name, dataType: INT64, dims: [values.length], int64Data: values });
    return name;
  };
  const int64Scalar = (name: string, value: number) => {
    initializer.push({ name, dataType: INT64, dims: [], int64Data: [value] });
    return name;
  };
  const floatScalar = (name: string, value: number) => {
    initializer.push({ name, dataType: FLOAT, dims: [], floatData: [value] });
    return name;
  };

  int64Scalar("c_zero", 0);
  int64Scalar("c_one", 1);
  floatScalar("c_one_f", 1);
  floatScalar("c_zero_f", 0);
  floatScalar("c_mask_bias", MASK_BIAS);
  floatScalar("c_eps", w.rmsNormEps);
  floatScalar("c_scale", 1 / Math.sqrt(d));
  ints("axes_1", [1]);
  ints("axes_2", [2]);
  ints("axes_3", [3]);
  ints("axes_1_2", [1, 2]);
  ints("half_start", [0]);
  ints("half_mid", [half]);
  ints("half_end", [d]);
  ints("shape_q_split", [0, 0, h, d]);
  ints("shape_kv_split", [0, 0, kv, d]);
  ints("shape_group", [0, kv, -1, d]);
  ints("shape_heads", [0, h, -1, 0]);
  ints("shape_group_scores", [0, kv, -1, 0]);
  ints("shape_ctx_heads", [0, h, -1, d]);
  ints("shape_merge", [0, 0, h * d]);
  weight("rope_inv_freq", [half], ropeInverseFrequencies(d, spec.ropeTheta));

  // Additive attention bias [B,1,S,T]: causal part from positions in the concatenated sequence,
  // padding part from attention_mask.
  add("Shape", ["input_ids"], "ids_shape");
  add("Gather", ["ids_shape", "c_one"], "seq_len", [intAttr("axis", 0)]);
  add("Shape", ["attention_mask"], "mask_shape");
  add("Gather", ["mask_shape", "c_one"], "total_len", [intAttr("axis", 0)]);
  add("Sub", ["total_len", "seq_len"], "past_len");
  add("Range", ["c_zero", "total_len", "c_one"], "key_slots");
  add("Range", ["past_len", "total_len", "c_one"], "query_slots");
  add("Unsqueeze", ["query_slots", "axes_1"], "query_slots_col");
  add("LessOrEqual", ["key_slots", "query_slots_col"], "causal_allowed");
  add("Where", ["causal_allowed", "c_zero_f", "c_mask_bias"], "causal_bias");
  add("Cast", ["attention_mask"], "mask_f", [intAttr("to", FLOAT)]);
  add("Sub", ["c_one_f", "mask_f"], "mask_inv");
  add("Mul", ["mask_inv", "c_mask_bias"], "pad_bias");
  add("Unsqueeze", ["pad_bias", "axes_1_2"], "pad_bias_4d");
  add("Add", ["pad_bias_4d", "causal_bias"], "attn_bias");

  // Rotary tables [B,1,S,hd] in HF's rotate-half layout: the frequencies repeated twice.
  add("Cast", ["position_ids"], "pos_f", [intAttr("to", FLOAT)]);
  add("Unsqueeze", ["pos_f", "axes_2"], "pos_col");
  add("Mul", ["pos_col", "rope_inv_freq"], "rope_freqs");
  add("Concat", ["rope_freqs", "rope_freqs"], "rope_emb", [intAttr("axis", -1)]);
  add("Cos", ["rope_emb"], "rope_cos_3d");
  add("Sin", ["rope_emb"], "rope_sin_3d");
  add("Unsqueeze", ["rope_cos_3d", "axes_1"], "rope_cos");
  add("Unsqueeze", ["rope_sin_3d", "axes_1"], "rope_sin");

  const rmsNorm = (x: string, gain: string, p: string) => {
    add("Mul", [x, x], `${p}_sq`);
    add("ReduceMean", [`${p}_sq`], `${p}_ms`, [intsAttr("axes", [-1]), intAttr("keepdims", 1)]);
    add("Add", [`${p}_ms`, "c_eps"], `${p}_ms_eps`);
    add("Sqrt", [`${p}_ms_eps`], `${p}_rms`);
    add("Div", [x, `${p}_rms`], `${p}_unit`);
    return add("Mul", [`${p}_unit`, gain], `${p}_out`);
  };
  const rope = (x: string, p: string) => {
    add("Slice", [x, "half_start", "half_mid", "axes_3"], `${p}_lo`);
    add("Slice", [x, "half_mid", "half_end", "axes_3"], `${p}_hi`);
    add("Neg", [`${p}_hi`], `${p}_hi_neg`);
    add("Concat", [`${p}_hi_neg`, `${p}_lo`], `${p}_rot`, [intAttr("axis", -1)]);
    add("Mul", [x, "rope_cos"], `${p}_cos`);
    add("Mul", [`${p}_rot`, "rope_sin"], `${p}_sin`);
    return add("Add", [`${p}_cos`, `${p}_sin`], `${p}_roped`);
  };
  const heads = (x: string, shape: string, p: string) => {
    add("Reshape", [x, shape], `${p}_split`);
    return add("Transpose", [`${p}_split`], `${p}_heads`, [intsAttr("perm", [0, 2, 1, 3])]);
  };

  const pastInputs: Onnx.IValueInfoProto[] = [];
  const presentOutputs: Onnx.IValueInfoProto[] = [];
  add("Gather", ["embed_tokens", "input_ids"], "x_0", [intAttr("axis", 0)]);
  weight("embed_tokens", [vocabSize, hidden], w.embed);
  let x = "x_0";
  w.layers.forEach((lw, l) => {
    const p = `l${l}`;
    const pastK = llamaIoNames.pastKey(l);
    const pastV = llamaIoNames.pastValue(l);
    const presentK = llamaIoNames.presentKey(l);
    const presentV = llamaIoNames.presentValue(l);
    pastInputs.push(
      valueInfo(pastK, FLOAT, ["batch", kv, "past", d]),
      valueInfo(pastV, FLOAT, ["batch", kv, "past", d]),
    );
    presentOutputs.push(
      valueInfo(presentK, FLOAT, ["batch", kv, "total", d]),
      valueInfo(presentV, FLOAT, ["batch", kv, "total", d]),
    );
    const normed = rmsNorm(x, weight(`${p}_input_norm`, [hidden], lw.inputNorm), `${p}_in_norm`);
    add("MatMul", [normed, weight(`${p}_wq`, [hidden, h * d], lw.q)], `${p}_q`);
    add("MatMul", [normed, weight(`${p}_wk`, [hidden, kv * d], lw.k)], `${p}_k`);
    add("MatMul", [normed, weight(`${p}_wv`, [hidden, kv * d], lw.v)], `${p}_v`);
    const q = rope(heads(`${p}_q`, "shape_q_split", `${p}_q`), `${p}_q`);
    const k = rope(heads(`${p}_k`, "shape_kv_split", `${p}_k`), `${p}_k`);
    const v = heads(`${p}_v`, "shape_kv_split", `${p}_v`);
    add("Concat", [pastK, k], presentK, [intAttr("axis", 2)]);
    add("Concat", [pastV, v], presentV, [intAttr("axis", 2)]);
    // Grouped-query attention without materialising repeated kv heads: query head j uses kv head
    // j / group (HF's repeat_kv), so folding the group into the query-row axis makes one MatMul
    // per kv head do the work of `group` query heads.
    add("Reshape", [q, "shape_group"], `${p}_q_grouped`);
    add("Transpose", [presentK], `${p}_k_t`, [intsAttr("perm", [0, 1, 3, 2])]);
    add("MatMul", [`${p}_q_grouped`, `${p}_k_t`], `${p}_scores_grouped`);
    add("Mul", [`${p}_scores_grouped`, "c_scale"], `${p}_scores_scaled`);
    add("Reshape", [`${p}_scores_scaled`, "shape_heads"], `${p}_scores`);
    add("Add", [`${p}_scores`, "attn_bias"], `${p}_scores_biased`);
    add("Softmax", [`${p}_scores_biased`], `${p}_probs`, [intAttr("axis", -1)]);
    add("Reshape", [`${p}_probs`, "shape_group_scores"], `${p}_probs_grouped`);
    add("MatMul", [`${p}_probs_grouped`, presentV], `${p}_ctx_grouped`);
    add("Reshape", [`${p}_ctx_grouped`, "shape_ctx_heads"], `${p}_ctx_heads`);
    add("Transpose", [`${p}_ctx_heads`], `${p}_ctx_t`, [intsAttr("perm", [0, 2, 1, 3])]);
    add("Reshape", [`${p}_ctx_t`, "shape_merge"], `${p}_ctx`);
    add("MatMul", [`${p}_ctx`, weight(`${p}_wo`, [h * d, hidden], lw.o)], `${p}_attn`);
    add("Add", [x, `${p}_attn`], `${p}_resid`);
    const normed2 = rmsNorm(
      `${p}_resid`,
      weight(`${p}_post_norm`, [hidden], lw.postNorm),
      `${p}_post`,
    );
    const inter = spec.intermediate;
    add("MatMul", [normed2, weight(`${p}_wgate`, [hidden, inter], lw.gate)], `${p}_gate`);
    add("MatMul", [normed2, weight(`${p}_wup`, [hidden, inter], lw.up)], `${p}_up`);
    add("Sigmoid", [`${p}_gate`], `${p}_gate_sig`);
    add("Mul", [`${p}_gate`, `${p}_gate_sig`], `${p}_silu`);
    add("Mul", [`${p}_silu`, `${p}_up`], `${p}_act`);
    add("MatMul", [`${p}_act`, weight(`${p}_wdown`, [inter, hidden], lw.down)], `${p}_mlp`);
    x = add("Add", [`${p}_resid`, `${p}_mlp`], `x_${l + 1}`);
  });
  const final = rmsNorm(x, weight("final_norm", [hidden], w.finalNorm), "final");
  add("MatMul", [final, weight("lm_head", [hidden, vocabSize], w.lmHead)], llamaIoNames.logits);

  return onnx.GraphProto.create({
    name: "llama_decoder_with_past",
    input: [
      valueInfo("input_ids", INT64, ["batch", "seq"]),
      valueInfo("attention_mask", INT64, ["batch", "total"]),
      valueInfo("position_ids", INT64, ["batch", "seq"]),
      ...pastInputs,
    ],
    output: [valueInfo(llamaIoNames.logits, FLOAT, ["batch", "seq", vocabSize]), ...presentOutputs],
    initializer,
    node: nodes,
  });
}
