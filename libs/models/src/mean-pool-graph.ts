import type { onnx as Onnx } from "onnx-proto";
import onnxProto from "onnx-proto";
import { valueInfo } from "./onnx-helpers.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Inputs of {@link buildMeanPoolGraph}: a row-major [vocabSize, dims] embedding matrix. */
export interface MeanPoolGraphSpec {
  readonly vocabSize: number;
  readonly dims: number;
  readonly matrix: Float32Array;
}

// Mask sums below this mean "no known word"; the mean is then exactly zero instead of 0/0.
const COUNT_EPS = 1e-9;
// Same guard for the norm: a zero mean stays a zero vector instead of 0/0 = NaN, which is why this
// graph spells out the L2 step rather than using LpNormalization (the ONNX spec gives it no epsilon).
const NORM_EPS = 1e-12;

/**
 * The sentence-embedding graph:
 *   input_ids int64 [batch, seq], attention_mask float [batch, seq]
 *   → Gather(embeddings) · mask → ReduceSum(seq) / max(ΣMask, ε) → x / max(‖x‖₂, ε)
 *   → sentence_embedding float [batch, dims]
 */
export function buildMeanPoolGraph(spec: MeanPoolGraphSpec): Onnx.IGraphProto {
  const { vocabSize, dims, matrix } = spec;
  if (matrix.length !== vocabSize * dims)
    throw new Error("embedding matrix size does not match vocab × dims");
  const node = (
    opType: string,
    input: string[],
    output: string,
    attribute: Onnx.IAttributeProto[] = [],
  ) => ({
    opType,
    input,
    output: [output],
    name: output,
    attribute,
  });
  return onnx.GraphProto.create({
    name: "mean_pool_l2",
    input: [
      valueInfo("input_ids", INT64, ["batch", "seq"]),
      valueInfo("attention_mask", FLOAT, ["batch", "seq"]),
    ],
    output: [valueInfo("sentence_embedding", FLOAT, ["batch", dims])],
    initializer: [
      {
        name: "embeddings",
        dataType: FLOAT,
        dims: [vocabSize, dims],
        // A view, not a copy: the matrix is ~137 MB for the full vocabulary (raw_data is little-endian, as is x86/arm).
        rawData: new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength),
      },
      int64Tensor("axis_last", [-1]),
      int64Tensor("axis_seq", [1]),
      floatScalar("count_eps", COUNT_EPS),
      floatScalar("norm_eps", NORM_EPS),
    ],
    node: [
      node("Gather", ["embeddings", "input_ids"], "token_vectors", [
        { name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ]),
      node("Unsqueeze", ["attention_mask", "axis_last"], "mask_3d"),
      node("Mul", ["token_vectors", "mask_3d"], "masked_vectors"),
      node("ReduceSum", ["masked_vectors", "axis_seq"], "summed", [keepDims(0)]),
      node("ReduceSum", ["attention_mask", "axis_seq"], "token_count", [keepDims(1)]),
      node("Max", ["token_count", "count_eps"], "safe_count"),
      node("Div", ["summed", "safe_count"], "mean"),
      node("Mul", ["mean", "mean"], "mean_sq"),
      node("ReduceSum", ["mean_sq", "axis_last"], "sum_sq", [keepDims(1)]),
      node("Sqrt", ["sum_sq"], "norm"),
      node("Max", ["norm", "norm_eps"], "safe_norm"),
      node("Div", ["mean", "safe_norm"], "sentence_embedding"),
    ],
  });
}

function keepDims(value: 0 | 1): Onnx.IAttributeProto {
  return { name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function int64Tensor(name: string, values: number[]): Onnx.ITensorProto {
  return { name, dataType: INT64, dims: [values.length], int64Data: values };
}

function floatScalar(name: string, value: number): Onnx.ITensorProto {
  return { name, dataType: FLOAT, dims: [], floatData: [value] };
}
