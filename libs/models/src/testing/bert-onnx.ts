import type { onnx as Onnx } from "onnx-proto";
import onnxProto from "onnx-proto";
import { intAttr, intsAttr, valueInfo } from "../onnx-helpers.js";
import { mulberry32 } from "../random.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const ATTR_INT = onnx.AttributeProto.AttributeType.INT;
const ATTR_FLOAT = onnx.AttributeProto.AttributeType.FLOAT;

/** What sits on top of the encoder. */
export type BertHead = "none" | "reranker" | "classifier";

/** Options of {@link buildTinyBert}. */
export interface TinyBertOptions {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  /** Token-type (segment) vocabulary; 0 builds a graph without a `token_type_ids` input. */
  readonly typeVocab: number;
  readonly head: BertHead;
  /** Classifier outputs; the reranker always has one. */
  readonly numLabels?: number;
  readonly seed: number;
  /** Standard deviation of the random weights (default 0.02, BERT's initializer range). */
  readonly std?: number;
}

/** Resolved shape of a built model. */
export interface BertShape extends Required<Omit<TinyBertOptions, "seed" | "std">> {
  readonly headDim: number;
}

/** One encoder layer; every matrix is row-major [in, out], applied as `x · W + b`. */
export interface BertLayerWeights {
  readonly q: Float32Array;
  readonly qBias: Float32Array;
  readonly k: Float32Array;
  readonly kBias: Float32Array;
  readonly v: Float32Array;
  readonly vBias: Float32Array;
  readonly out: Float32Array;
  readonly outBias: Float32Array;
  readonly attnNormScale: Float32Array;
  readonly attnNormBias: Float32Array;
  readonly ff1: Float32Array;
  readonly ff1Bias: Float32Array;
  readonly ff2: Float32Array;
  readonly ff2Bias: Float32Array;
  readonly ffNormScale: Float32Array;
  readonly ffNormBias: Float32Array;
}

/** All weights of a built model, shared by the ONNX graph and the TypeScript reference. */
export interface BertWeights {
  readonly word: Float32Array;
  readonly position: Float32Array;
  /** Empty when the model has no token types. */
  readonly tokenType: Float32Array;
  readonly embNormScale: Float32Array;
  readonly embNormBias: Float32Array;
  readonly layers: readonly BertLayerWeights[];
  /** Pooler (dense + tanh on [CLS]) and output layer; empty for head "none". */
  readonly pooler: Float32Array;
  readonly poolerBias: Float32Array;
  readonly classifier: Float32Array;
  readonly classifierBias: Float32Array;
}

/** A built model: the serialised ONNX ModelProto plus what produced it. */
export interface TinyBert {
  readonly shape: BertShape;
  readonly weights: BertWeights;
  readonly bytes: Uint8Array;
}

/** LayerNormalization epsilon, as in BERT. */
export const BERT_LAYER_NORM_EPS = 1e-12;
/** Additive attention bias on padded keys, as in the original BERT. */
export const BERT_MASK_BIAS = -10000;

/**
 * Builds a real BERT encoder as an ONNX model (opset 17) with seeded random weights: inputs
 * `input_ids`, `attention_mask` (and `token_type_ids` when `typeVocab > 0`), int64 [batch, seq];
 * output `last_hidden_state` [batch, seq, hidden] for head "none", else `logits` [batch, labels]
 * from the pooler (tanh dense on [CLS]) and a linear layer.
 */
export function buildTinyBert(opts: TinyBertOptions): TinyBert {
  const shape = resolveShape(opts);
  const weights = randomWeights(shape, opts.seed, opts.std ?? 0.02);
  const graph = bertGraph(shape, weights);
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      producerName: "tailor-models-testing",
      docString: `tiny BERT ${JSON.stringify(shape)} seed ${opts.seed}`,
      graph,
    }),
  ).finish();
  return { shape, weights, bytes };
}

function resolveShape(opts: TinyBertOptions): BertShape {
  if (opts.hidden % opts.heads !== 0) throw new Error("hidden must be a multiple of heads");
  const numLabels =
    opts.head === "reranker" ? 1 : opts.head === "classifier" ? (opts.numLabels ?? 2) : 0;
  return {
    layers: opts.layers,
    hidden: opts.hidden,
    heads: opts.heads,
    intermediate: opts.intermediate,
    vocabSize: opts.vocabSize,
    maxPositions: opts.maxPositions,
    typeVocab: opts.typeVocab,
    head: opts.head,
    numLabels,
    headDim: opts.hidden / opts.heads,
  };
}

/** Seeded N(0, 1) source: mulberry32 uniforms through Box–Muller. */
export function seededNormal(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

function randomWeights(s: BertShape, seed: number, std: number): BertWeights {
  const normal = seededNormal(seed);
  const rand = (n: number, mean = 0) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = mean + std * normal();
    return a;
  };
  const h = s.hidden;
  const layers: BertLayerWeights[] = [];
  for (let l = 0; l < s.layers; l++) {
    layers.push({
      q: rand(h * h),
      qBias: rand(h),
      k: rand(h * h),
      kBias: rand(h),
      v: rand(h * h),
      vBias: rand(h),
      out: rand(h * h),
      outBias: rand(h),
      attnNormScale: rand(h, 1),
      attnNormBias: rand(h),
      ff1: rand(h * s.intermediate),
      ff1Bias: rand(s.intermediate),
      ff2: rand(s.intermediate * h),
      ff2Bias: rand(h),
      ffNormScale: rand(h, 1),
      ffNormBias: rand(h),
    });
  }
  const pooled = s.head !== "none";
  return {
    word: rand(s.vocabSize * h),
    position: rand(s.maxPositions * h),
    tokenType: rand(s.typeVocab * h),
    embNormScale: rand(h, 1),
    embNormBias: rand(h),
    layers,
    pooler: rand(pooled ? h * h : 0),
    poolerBias: rand(pooled ? h : 0),
    classifier: rand(h * s.numLabels),
    classifierBias: rand(s.numLabels),
  };
}

/** Accumulates nodes and initializers; every op gets a fresh output name. */
class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private next = 0;

  weight(name: string, dims: number[], data: Float32Array): string {
    // A view, not a copy: MiniLM-shaped models hold ~90 MB of weights.
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dataType: FLOAT, dims, rawData });
    return name;
  }

  floats(name: string, values: number[], dims: number[] = []): string {
    this.initializers.push({ name, dataType: FLOAT, dims, floatData: values });
    return name;
  }

  ints(name: string, values: number[], dims: number[] = [values.length]): string {
    this.initializers.push({ name, dataType: INT64, dims, int64Data: values });
    return name;
  }

  op(
    opType: string,
    input: string[],
    attribute: Onnx.IAttributeProto[] = [],
    output?: string,
  ): string {
    const out = output ?? `${opType.toLowerCase()}_${this.next++}`;
    this.nodes.push({ opType, input, output: [out], name: out, attribute });
    return out;
  }

  linear(x: string, w: string, b: string): string {
    return this.op("Add", [this.op("MatMul", [x, w]), b]);
  }

  layerNorm(x: string, scale: string, bias: string, output?: string): string {
    return this.op(
      "LayerNormalization",
      [x, scale, bias],
      [
        { name: "axis", type: ATTR_INT, i: -1 },
        { name: "epsilon", type: ATTR_FLOAT, f: BERT_LAYER_NORM_EPS },
      ],
      output,
    );
  }
}

function bertGraph(s: BertShape, w: BertWeights): Onnx.IGraphProto {
  const g = new GraphBuilder();
  const h = s.hidden;
  const hasTypes = s.typeVocab > 0;
  g.ints("zero", [0], []);
  g.ints("one", [1], []);
  g.floats("one_f", [1]);
  g.floats("half_f", [0.5]);
  g.floats("sqrt2_f", [Math.SQRT2]);
  g.floats("mask_bias_f", [BERT_MASK_BIAS]);
  g.floats("attn_scale_f", [1 / Math.sqrt(s.headDim)]);
  g.ints("split_heads", [0, 0, s.heads, s.headDim]);
  g.ints("merge_heads", [0, 0, h]);
  g.ints("mask_axes", [1, 2]);

  // Embeddings: word + position (0..seq-1) + token type, then LayerNorm.
  const word = g.op("Gather", [g.weight("word_embeddings", [s.vocabSize, h], w.word), "input_ids"]);
  const seqLen = g.op("Gather", [g.op("Shape", ["input_ids"]), "one"], [intAttr("axis", 0)]);
  const positionIds = g.op("Range", ["zero", seqLen, "one"]);
  const position = g.op("Gather", [
    g.weight("position_embeddings", [s.maxPositions, h], w.position),
    positionIds,
  ]);
  let emb = g.op("Add", [word, position]);
  if (hasTypes) {
    const types = g.weight("token_type_embeddings", [s.typeVocab, h], w.tokenType);
    emb = g.op("Add", [emb, g.op("Gather", [types, "token_type_ids"])]);
  }
  let x = g.layerNorm(
    emb,
    g.weight("emb_ln_scale", [h], w.embNormScale),
    g.weight("emb_ln_bias", [h], w.embNormBias),
  );

  // [batch, 1, 1, seq]: 0 on real keys, BERT_MASK_BIAS on padding, added to every head's scores.
  const maskF = g.op("Cast", ["attention_mask"], [intAttr("to", FLOAT)]);
  const inverted = g.op("Sub", ["one_f", maskF]);
  const maskBias = g.op("Unsqueeze", [g.op("Mul", [inverted, "mask_bias_f"]), "mask_axes"]);

  w.layers.forEach((lw, l) => {
    const p = `layer${l}_`;
    const lin = (
      name: string,
      m: Float32Array,
      b: Float32Array,
      inDim: number,
      outDim: number,
      input: string,
    ) =>
      g.linear(
        input,
        g.weight(`${p}${name}_w`, [inDim, outDim], m),
        g.weight(`${p}${name}_b`, [outDim], b),
      );
    const heads = (t: string, perm: number[]) =>
      g.op("Transpose", [g.op("Reshape", [t, "split_heads"])], [intsAttr("perm", perm)]);
    const q = heads(lin("q", lw.q, lw.qBias, h, h, x), [0, 2, 1, 3]);
    const kT = heads(lin("k", lw.k, lw.kBias, h, h, x), [0, 2, 3, 1]);
    const v = heads(lin("v", lw.v, lw.vBias, h, h, x), [0, 2, 1, 3]);
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, kT]), "attn_scale_f"]), maskBias]);
    const probs = g.op("Softmax", [scores], [intAttr("axis", -1)]);
    const context = g.op(
      "Transpose",
      [g.op("MatMul", [probs, v])],
      [intsAttr("perm", [0, 2, 1, 3])],
    );
    const merged = g.op("Reshape", [context, "merge_heads"]);
    const attnOut = lin("attn_out", lw.out, lw.outBias, h, h, merged);
    const x1 = g.layerNorm(
      g.op("Add", [attnOut, x]),
      g.weight(`${p}attn_ln_scale`, [h], lw.attnNormScale),
      g.weight(`${p}attn_ln_bias`, [h], lw.attnNormBias),
    );
    const up = lin("ff1", lw.ff1, lw.ff1Bias, h, s.intermediate, x1);
    // GELU, erf form: 0.5 · x · (1 + erf(x / √2)).
    const erf = g.op("Erf", [g.op("Div", [up, "sqrt2_f"])]);
    const gelu = g.op("Mul", [g.op("Mul", [up, g.op("Add", [erf, "one_f"])]), "half_f"]);
    const down = lin("ff2", lw.ff2, lw.ff2Bias, s.intermediate, h, gelu);
    const last = l === w.layers.length - 1 && s.head === "none";
    x = g.layerNorm(
      g.op("Add", [down, x1]),
      g.weight(`${p}ff_ln_scale`, [h], lw.ffNormScale),
      g.weight(`${p}ff_ln_bias`, [h], lw.ffNormBias),
      last ? "last_hidden_state" : undefined,
    );
  });

  const outputs: Onnx.IValueInfoProto[] = [];
  if (s.head === "none") {
    if (w.layers.length === 0) g.op("Identity", [x], [], "last_hidden_state");
    outputs.push(valueInfo("last_hidden_state", FLOAT, ["batch", "sequence", h]));
  } else {
    const cls = g.op("Gather", [x, "zero"], [intAttr("axis", 1)]);
    const pooled = g.op("Tanh", [
      g.linear(
        cls,
        g.weight("pooler_w", [h, h], w.pooler),
        g.weight("pooler_b", [h], w.poolerBias),
      ),
    ]);
    g.op(
      "Add",
      [
        g.op("MatMul", [pooled, g.weight("classifier_w", [h, s.numLabels], w.classifier)]),
        g.weight("classifier_b", [s.numLabels], w.classifierBias),
      ],
      [],
      "logits",
    );
    outputs.push(valueInfo("logits", FLOAT, ["batch", s.numLabels]));
  }

  const inputs = [
    valueInfo("input_ids", INT64, ["batch", "sequence"]),
    valueInfo("attention_mask", INT64, ["batch", "sequence"]),
  ];
  if (hasTypes) inputs.push(valueInfo("token_type_ids", INT64, ["batch", "sequence"]));
  return onnx.GraphProto.create({
    name: "tiny_bert",
    input: inputs,
    output: outputs,
    initializer: g.initializers,
    node: g.nodes,
  });
}
