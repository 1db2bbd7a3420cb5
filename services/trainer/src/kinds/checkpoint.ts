import type { AdapterTrainerState } from "@tailor/train";

/** Tuned keyword parameters and dense weight (the retrieval-params stage's result). */
export interface ParamsResult {
  bm25K1: number;
  bm25B: number;
  rm3Docs: number;
  rm3Terms: number;
  rm3Weight: number;
  denseWeight: number;
  metrics: Record<string, number>;
}

/** The adapter stage: training state while it runs, the served embedder once done. */
export interface AdapterStage {
  /** Trainer snapshot with its arrays packed (see packState). */
  state?: PackedState;
  done?: { embedder: string; metrics: Record<string, number> };
}

/**
 * Everything a job has done so far. Written at stage ends and, while the adapter trains, at
 * step boundaries; a resumed job skips the stages it finds here. It is only valid for the same
 * training data: `datasetHash` is compared on resume and a changed corpus starts over.
 */
export interface JobCheckpoint {
  format: 1;
  datasetHash: string;
  base: string;
  params?: ParamsResult;
  adapter?: AdapterStage;
  /** `all`: the intermediate version searched for reranker features. */
  intermediate?: string;
  /** `guard`: the version registered (a resumed job does not register a second one). */
  guard?: { registered: string };
}

type PackedArrays = "params" | "adamM" | "adamV";
export type PackedState = Omit<AdapterTrainerState, PackedArrays | "best"> & {
  params: string;
  adamM: string;
  adamV: string;
  best: (Omit<NonNullable<AdapterTrainerState["best"]>, "params"> & { params: string }) | null;
};

/**
 * The trainer's arrays hold float32 values: as base64 float32 they are exact and a quarter of
 * their JSON size, so a step-boundary checkpoint stays cheap.
 */
export function packState(s: AdapterTrainerState): PackedState {
  return {
    ...s,
    params: pack(s.params),
    adamM: pack(s.adamM),
    adamV: pack(s.adamV),
    best: s.best && { ...s.best, params: pack(s.best.params) },
  };
}

export function unpackState(p: PackedState): AdapterTrainerState {
  return {
    ...p,
    params: unpack(p.params),
    adamM: unpack(p.adamM),
    adamV: unpack(p.adamV),
    best: p.best && { ...p.best, params: unpack(p.best.params) },
  };
}

function pack(values: readonly number[]): string {
  return Buffer.from(Float32Array.from(values).buffer).toString("base64");
}

function unpack(b64: string): number[] {
  const bytes = Buffer.from(b64, "base64");
  const f = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(f.buffer).set(bytes);
  return Array.from(f);
}

export function encodeCheckpoint(c: JobCheckpoint): Uint8Array {
  return Buffer.from(JSON.stringify(c), "utf8");
}

/** The checkpoint, or undefined when there is none or it is not one this version wrote. */
export function decodeCheckpoint(data: Uint8Array | undefined): JobCheckpoint | undefined {
  if (!data) return undefined;
  try {
    const c = JSON.parse(Buffer.from(data).toString("utf8")) as JobCheckpoint;
    return c?.format === 1 ? c : undefined;
  } catch {
    return undefined;
  }
}
