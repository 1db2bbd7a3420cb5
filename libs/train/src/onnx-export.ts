import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { valueInfo } from "@tailor/models/onnx-helpers";
import type { onnx as Onnx } from "onnx-proto";
// onnx-proto is CommonJS whose exports Node's ESM loader cannot name, so take the default export.
import onnxProto from "onnx-proto";
import { type AdapterSpec, checkSpec, type Params, parameterLayout } from "./adapter.js";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** Graph input and output names the model-server's adapter runtime feeds and reads. */
export const ADAPTER_INPUT = "embeddings";
export const ADAPTER_OUTPUT = "adapted";

/**
 * The adapter as an ONNX model: `embeddings` float [batch, D] → `adapted` float [batch, D].
 * Linear: MatMul, Add. Residual: MatMul, Add, Relu|Gelu, MatMul, Add, Add. The model-server
 * L2-normalises `adapted` itself (config `normalize`), so the graph stops before it.
 */
export function buildAdapterOnnx(spec: AdapterSpec, params: Params): Uint8Array {
  checkSpec(spec);
  const layout = parameterLayout(spec);
  if (params.length !== layout.size)
    throw new RangeError(`${params.length} parameters, expected ${layout.size}`);
  const initializer: Onnx.ITensorProto[] = layout.tensors.map((t) => {
    const values = Float32Array.from(
      params.subarray(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1)),
    );
    return {
      name: t.name,
      dataType: FLOAT,
      dims: [...t.shape],
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    };
  });
  const node = (
    opType: string,
    input: string[],
    output: string,
    attribute = [] as Onnx.IAttributeProto[],
  ) => ({
    opType,
    input,
    output: [output],
    name: output,
    attribute,
  });
  const a = spec.architecture;
  const nodes =
    a.kind === "linear"
      ? [
          node("MatMul", [ADAPTER_INPUT, "weight"], "projected"),
          node("Add", ["projected", "bias"], ADAPTER_OUTPUT),
        ]
      : [
          node("MatMul", [ADAPTER_INPUT, "w1"], "hidden_mm"),
          node("Add", ["hidden_mm", "b1"], "hidden_pre"),
          a.activation === "relu"
            ? node("Relu", ["hidden_pre"], "hidden")
            : node("Gelu", ["hidden_pre"], "hidden", [stringAttr("approximate", "tanh")]),
          node("MatMul", ["hidden", "w2"], "branch_mm"),
          node("Add", ["branch_mm", "b2"], "branch"),
          node("Add", [ADAPTER_INPUT, "branch"], ADAPTER_OUTPUT),
        ];
  // Gelu entered the default domain in opset 20; the other graphs keep the repository's opset 17.
  const opset = a.kind === "residual" && a.activation === "gelu" ? 20 : 17;
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: opset >= 20 ? 9 : 8,
      opsetImport: [{ domain: "", version: opset }],
      producerName: "tailor-train",
      graph: {
        name: `${a.kind}_adapter`,
        input: [valueInfo(ADAPTER_INPUT, FLOAT, ["batch", spec.dims])],
        output: [valueInfo(ADAPTER_OUTPUT, FLOAT, ["batch", spec.dims])],
        initializer,
        node: nodes,
      },
    }),
  ).finish();
}

/** What {@link writeAdapterModelFolder} writes into `config.json` besides the adapter wiring. */
export interface AdapterFolderOptions {
  readonly spec: AdapterSpec;
  readonly params: Params;
  /**
   * The base embedder the adapter follows, best as the exact `name@version` its training vectors
   * came from (e.g. `glove-sg-100d@8cedccd40fe9`): the model-server then chains the adapter after
   * that version only and refuses any other base. A bare name is matched by name alone.
   */
  readonly base: string;
  readonly name?: string;
  /** Leave unset when the registry names the version at publish time. */
  readonly version?: string;
  /** Free-form lineage (job, seed, losses) kept under `tailor_training` in config.json. */
  readonly training?: Readonly<Record<string, unknown>>;
}

/**
 * Writes a complete adapter model folder, `model.onnx` plus `config.json`
 * ({"tailor_kind": "adapter", base, dimensions, normalize: true, …}), the layout `loadHfFolder`
 * reads and `publishArtifact` accepts. Returns the folder's files.
 */
export async function writeAdapterModelFolder(
  dir: string,
  o: AdapterFolderOptions,
): Promise<{ modelPath: string; configPath: string }> {
  const model = buildAdapterOnnx(o.spec, o.params);
  const config = {
    tailor_kind: "adapter",
    base: o.base,
    dimensions: o.spec.dims,
    normalize: true,
    ...(o.name !== undefined && { name: o.name }),
    ...(o.version !== undefined && { version: o.version }),
    tailor_adapter: {
      architecture: o.spec.architecture,
      input: ADAPTER_INPUT,
      output: ADAPTER_OUTPUT,
    },
    ...(o.training && { tailor_training: o.training }),
  };
  await mkdir(dir, { recursive: true });
  const modelPath = join(dir, "model.onnx");
  const configPath = join(dir, "config.json");
  await writeFile(modelPath, model);
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { modelPath, configPath };
}

function stringAttr(name: string, s: string): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) };
}
