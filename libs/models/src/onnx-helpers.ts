import type { onnx as Onnx } from "onnx-proto";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** An INT attribute of an ONNX node. */
export function intAttr(name: string, i: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

/** An INTS attribute of an ONNX node. */
export function intsAttr(name: string, ints: number[]): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

/** A graph input/output: named dimensions are symbolic, numbers fixed. */
export function valueInfo(
  name: string,
  elemType: number,
  shape: (string | number)[],
): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  };
}
