import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ObjectStore } from "@nats-io/obj";
import { TransientError } from "@tailor/bus";
import { type ObjectRef, ObjectRefSchema } from "@tailor/proto";
import { textProblem } from "@tailor/service";
import { LoraJobError } from "./errors.js";

/** One supervised example: the model sees `prompt` and learns to continue it with `completion`. */
export interface LoraExample {
  readonly prompt: string;
  readonly completion: string;
  /** 1-based line of the JSONL file, for errors that come up later (too many tokens). */
  readonly line: number;
}

/** Limits on what a dataset may make the worker hold. */
export interface DatasetLimits {
  readonly maxBytes: number;
  readonly maxExamples: number;
  /** UTF-8 bytes of one line. */
  readonly maxLineBytes: number;
}

export const DEFAULT_DATASET_LIMITS: DatasetLimits = {
  maxBytes: 64 * 1024 * 1024,
  maxExamples: 100_000,
  maxLineBytes: 64 * 1024,
};

const TEXT_RULE = { maxBytes: 64 * 1024, required: true, control: "whitespace" } as const;

/**
 * Stores a JSONL dataset as `<tenant>/<name>` in `os` and returns the reference a job spec
 * carries (size and sha256 set, so the worker can check what it reads).
 */
export async function uploadLoraDataset(
  os: ObjectStore,
  bucket: string,
  tenant: string,
  name: string,
  data: Uint8Array,
): Promise<ObjectRef> {
  const object = `${tenant}/${name}`;
  await os.putBlob({ name: object }, data);
  return create(ObjectRefSchema, {
    bucket,
    name: object,
    size: BigInt(data.length),
    sha256: createHash("sha256").update(data).digest("hex"),
  });
}

/**
 * Reads the dataset object `ref` from `os` (the worker's dataset bucket), refusing it when it is
 * bigger than declared or than the limit, or when its sha256 differs; a store that does not
 * answer is a TransientError (retry), everything else a LoraJobError naming `dataset`.
 */
export async function readLoraDataset(
  os: ObjectStore,
  ref: ObjectRef,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): Promise<Uint8Array> {
  const declared = Number(ref.size);
  if (declared > limits.maxBytes)
    throw new LoraJobError(
      "dataset.size",
      `is ${declared} bytes, over this worker's limit of ${limits.maxBytes}`,
    );
  let info: Awaited<ReturnType<ObjectStore["info"]>>;
  try {
    info = await os.info(ref.name);
  } catch (err) {
    throw new TransientError("the dataset bucket could not be read", { cause: err });
  }
  if (!info || info.deleted)
    throw new LoraJobError("dataset.name", "no such object in the dataset bucket");
  if (info.options?.link) throw new LoraJobError("dataset.name", "is a link, not an object");
  if (info.size !== declared)
    throw new LoraJobError(
      "dataset.size",
      `the object holds ${info.size} bytes, not the declared ${declared}`,
    );
  let result: Awaited<ReturnType<ObjectStore["get"]>>;
  try {
    result = await os.get(ref.name);
  } catch (err) {
    throw new TransientError("the dataset bucket could not be read", { cause: err });
  }
  if (!result) throw new LoraJobError("dataset.name", "no such object in the dataset bucket");
  result.error.catch(() => {});
  const reader = result.data.getReader();
  const parts: Uint8Array[] = [];
  const hash = createHash("sha256");
  let total = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    total += chunk.value.length;
    // Counted as it arrives: the stored info is written by whoever put the object.
    if (total > declared) {
      await reader.cancel().catch(() => {});
      throw new LoraJobError(
        "dataset.size",
        `the object is longer than the declared ${declared} bytes`,
      );
    }
    hash.update(chunk.value);
    parts.push(chunk.value);
  }
  const failed = await result.error.catch((err: unknown) => err);
  if (failed)
    throw new TransientError("the dataset could not be read to the end", { cause: failed });
  if (hash.digest("hex") !== ref.sha256)
    throw new LoraJobError("dataset.sha256", "does not match the object's bytes");
  return Buffer.concat(parts, total);
}

/**
 * Parses JSONL `{"prompt","completion"}` lines; a bad line fails the job naming its line number
 * (1-based). Blank lines are skipped; other keys are ignored.
 */
export function parseLoraDataset(
  bytes: Uint8Array,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): LoraExample[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new LoraJobError("dataset", "is not valid UTF-8");
  }
  const examples: LoraExample[] = [];
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const at = `dataset line ${i + 1}`;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") continue;
    if (Buffer.byteLength(line) > limits.maxLineBytes)
      throw new LoraJobError(at, `is over the limit of ${limits.maxLineBytes} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new LoraJobError(at, "is not a JSON object");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new LoraJobError(at, "is not a JSON object");
    const { prompt, completion } = value as Record<string, unknown>;
    for (const [key, v] of [
      ["prompt", prompt],
      ["completion", completion],
    ] as const) {
      if (typeof v !== "string") throw new LoraJobError(`${at}: ${key}`, "must be a string");
      const problem = textProblem(v, TEXT_RULE);
      if (problem) throw new LoraJobError(`${at}: ${key}`, problem);
    }
    if (examples.length >= limits.maxExamples)
      throw new LoraJobError("dataset", `holds more than ${limits.maxExamples} examples`);
    examples.push({ prompt: prompt as string, completion: completion as string, line: i + 1 });
  }
  if (examples.length === 0) throw new LoraJobError("dataset", "holds no examples");
  return examples;
}
