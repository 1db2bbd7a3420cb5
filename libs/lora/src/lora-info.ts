import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { mulberry32 } from "@tailor/models/random";
import type { LoraJobSpec } from "@tailor/proto";

/**
 * File in a merged model's folder that names its base, job and LoRA hyper-parameters. It is
 * one of the folder's files, so the artifact manifest pins its sha256 like the weights'.
 */
export const LORA_INFO_FILE = "tailor-lora.json";

/** Contents of {@link LORA_INFO_FILE}. */
export interface LoraInfo {
  readonly format: "tailor-lora/v1";
  readonly tenant: string;
  readonly job: string;
  /** loraSpecDigest of the spec that produced it: a redelivery has the same, a reused job id not. */
  readonly spec_digest: string;
  readonly base_model: string;
  readonly output: string;
  readonly dataset: {
    readonly bucket: string;
    readonly name: string;
    readonly sha256: string;
    readonly size: number;
    readonly examples: number;
  };
  readonly rank: number;
  readonly alpha: number;
  /** alpha / rank, the factor of B·A in the merge. */
  readonly scale: number;
  readonly target_modules: readonly string[];
  readonly steps: number;
  readonly learning_rate: number;
  /** uint64 as a decimal string (JSON numbers lose precision above 2^53). */
  readonly seed: string;
  readonly objective: string;
  /** ONNX initializers whose values differ from the base's. */
  readonly merged_initializers: readonly string[];
  readonly first_loss: number;
  readonly final_loss: number;
  readonly trainer: string;
  readonly worker: string;
}

/** The LoRA info of a model folder; undefined when it has none (not a LoRA output). */
export async function readLoraInfo(dir: string): Promise<LoraInfo | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, LORA_INFO_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const info = JSON.parse(text) as LoraInfo;
  if (info?.format !== "tailor-lora/v1" || typeof info.tenant !== "string")
    throw new Error(`${LORA_INFO_FILE} is not a tailor-lora/v1 file`);
  return info;
}

/** Whether `info` records exactly this job (same tenant, job id and spec). */
export function sameJob(info: LoraInfo, spec: LoraJobSpec, digest: string): boolean {
  return info.tenant === spec.tenant && info.job === spec.job && info.spec_digest === digest;
}

/**
 * The example index of every step: epochs of seeded Fisher–Yates shuffles, so the same spec
 * visits the examples in the same order on every worker and every redelivery.
 */
export function shuffledOrder(examples: number, seed: bigint, steps: number): Uint32Array {
  const rand = mulberry32(Number((seed * 2654435761n + 1n) & 0xffffffffn));
  const order = new Uint32Array(steps);
  const perm = Uint32Array.from({ length: examples }, (_, i) => i);
  for (let done = 0; done < steps; done += examples) {
    for (let i = examples - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    order.set(perm.subarray(0, Math.min(examples, steps - done)), done);
  }
  return order;
}
