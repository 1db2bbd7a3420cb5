/**
 * A hand-assembled WebAssembly module with one SIMD kernel, `dot(aPtr, bPtr, bytes)`, because
 * the dot product dominates HNSW time and plain JS cannot vectorise it (~4x slower).
 * `bytes` must be a positive multiple of 32: vectors are zero-padded to 8-float strides.
 */
// biome-ignore format: one line per instruction group keeps the hand assembly readable
const BODY = [
  0x01, 0x02, 0x7b, // locals: 2 x v128 (acc0 = 3, acc1 = 4)
  0x20, 0x00, 0x20, 0x02, 0x6a, 0x21, 0x02, // end = a + bytes
  0x03, 0x40, // loop
  0x20, 0x03, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x01, 0xfd, 0x00, 0x00, 0x00,
  0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0x21, 0x03, // acc0 += a[0..4] * b[0..4]
  0x20, 0x04, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x10, 0x20, 0x01, 0xfd, 0x00, 0x00, 0x10,
  0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0x21, 0x04, // acc1 += a[4..8] * b[4..8]
  0x20, 0x00, 0x41, 0x20, 0x6a, 0x21, 0x00, // a += 32
  0x20, 0x01, 0x41, 0x20, 0x6a, 0x21, 0x01, // b += 32
  0x20, 0x00, 0x20, 0x02, 0x49, 0x0d, 0x00, // br_if a < end
  0x0b, // end loop
  0x20, 0x03, 0x20, 0x04, 0xfd, 0xe4, 0x01, 0x21, 0x03, // acc0 += acc1
  0x20, 0x03, 0xfd, 0x1f, 0x00, 0x20, 0x03, 0xfd, 0x1f, 0x01, 0x92, // lane0 + lane1
  0x20, 0x03, 0xfd, 0x1f, 0x02, 0x92, 0x20, 0x03, 0xfd, 0x1f, 0x03, 0x92, // + lane2 + lane3
  0x0b,
];

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function leb(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

const ascii = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

// biome-ignore format: one line per wasm section
const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7d]), // type (i32 i32 i32) -> f32
  ...section(2, [0x01, ...ascii("env"), ...ascii("memory"), 0x02, 0x00, 0x01]), // import memory
  ...section(3, [0x01, 0x00]), // one function of type 0
  ...section(7, [0x01, ...ascii("dot"), 0x00, 0x00]), // export "dot"
  ...section(10, [0x01, ...leb(BODY.length), ...BODY]), // code
]);

/** The slice of the WebAssembly API used here; the project's TS libs do not declare it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

/** Allocates a zeroed linear memory of `pages` 64 KiB pages. */
export function createWasmMemory(pages: number): WasmMemory {
  return new wasm.Memory({ initial: pages });
}

/** The dot kernel bound to one memory. */
export type DotKernel = (aPtr: number, bPtr: number, bytes: number) => number;

/** Instantiates the kernel over `memory`; the module itself is compiled once per process. */
export function createDotKernel(memory: WasmMemory): DotKernel {
  compiled ??= new wasm.Module(MODULE_BYTES);
  const instance = new wasm.Instance(compiled, { env: { memory } });
  return instance.exports["dot"] as DotKernel;
}
