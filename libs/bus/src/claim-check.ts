import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type ObjectInfo, type ObjectResult, type ObjectStore, Objm } from "@nats-io/obj";
import { type ObjectRef, ObjectRefSchema } from "@tailor/proto";
import { PoisonMessageError, TransientError } from "./errors.js";

export interface ClaimReadOptions {
  /** Most bytes get() reads, whatever the reference declares. */
  maxBytes?: number;
}

/**
 * Claim check: a payload too big for one NATS message is stored in a JetStream Object Store
 * bucket and the event carries only a reference (bucket, name, size, sha256).
 */
export class ClaimStore {
  private received = 0;

  private constructor(
    private readonly os: ObjectStore,
    readonly bucket: string,
  ) {}

  static async open(js: JetStreamClient, bucket: string): Promise<ClaimStore> {
    const os = await new Objm(js).create(bucket, { description: "Tailor claim-check payloads" });
    return new ClaimStore(os, bucket);
  }

  /** Stores bytes under a content-addressed name, so a retried put is harmless. */
  async put(data: Uint8Array): Promise<ObjectRef> {
    const sha256 = createHash("sha256").update(data).digest("hex");
    const name = `sha256-${sha256}`;
    const existing = await this.os.info(name);
    if (!existing || existing.deleted) await this.os.putBlob({ name }, data);
    return create(ObjectRefSchema, {
      bucket: this.bucket,
      name,
      size: BigInt(data.length),
      sha256,
    });
  }

  /** Bytes received from the store by get(), over the store's lifetime (for tests and metrics). */
  get bytesRead(): number {
    return this.received;
  }

  /**
   * Reads a claimed body as a stream, refusing it (PoisonMessageError) as soon as it is longer
   * than its declared size or `maxBytes`, so an oversized object is never downloaded whole.
   * A size of 0 means "not declared"; then only `maxBytes` applies.
   */
  async get(ref: ObjectRef, o: ClaimReadOptions = {}): Promise<Uint8Array> {
    const what = `text_ref ${show(ref.bucket)}/${show(ref.name)}`;
    if (ref.bucket !== this.bucket)
      throw new PoisonMessageError(`text_ref.bucket ${show(ref.bucket)} is not ${this.bucket}`);
    const max = o.maxBytes ?? Number.POSITIVE_INFINITY;
    const declared = ref.size > 0n ? Number(ref.size) : undefined;
    if (declared !== undefined && declared > max)
      throw new PoisonMessageError(`${what} declares ${declared} bytes, over the limit of ${max}`);
    const limit = Math.min(declared ?? max, max);

    // The stored info costs one request and settles most cases before any data moves.
    let info: ObjectInfo | null;
    try {
      info = await this.os.info(ref.name);
    } catch (err) {
      throw new TransientError(`claim ${show(ref.name)} could not be read`, { cause: err });
    }
    if (!info || info.deleted) throw new PoisonMessageError(`${what} does not exist`);
    // A link could point into any bucket; claims are plain objects.
    if (info.options?.link) throw new PoisonMessageError(`${what} is a link`);
    if (declared !== undefined && info.size !== declared)
      throw new PoisonMessageError(
        `${what} holds ${info.size} bytes, not the declared ${declared}`,
      );
    if (info.size > limit)
      throw new PoisonMessageError(`${what} holds ${info.size} bytes, over the limit of ${limit}`);

    // The info is written by whoever stored the object, so the bytes are counted as they come.
    let result: ObjectResult | null;
    try {
      result = await this.os.get(ref.name);
    } catch (err) {
      throw new TransientError(`claim ${show(ref.name)} could not be read`, { cause: err });
    }
    if (!result) throw new PoisonMessageError(`${what} does not exist`);
    // Settled through the stream below; this only keeps a rejection from going unhandled.
    result.error.catch(() => {});
    const reader = result.data.getReader();
    const parts: Uint8Array[] = [];
    const hash = createHash("sha256");
    let total = 0;
    for (;;) {
      const chunk = await reader.read().catch((err: unknown) => {
        throw readError(what, err);
      });
      if (chunk.done) break;
      total += chunk.value.length;
      this.received += chunk.value.length;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw new PoisonMessageError(`${what} is longer than ${limit} bytes`);
      }
      hash.update(chunk.value);
      parts.push(chunk.value);
    }
    const failed = await result.error.catch((err: unknown) => err);
    if (failed) throw readError(what, failed);
    if (declared !== undefined && total !== declared)
      throw new PoisonMessageError(`${what} holds ${total} bytes, not the declared ${declared}`);
    if (ref.sha256 && hash.digest("hex") !== ref.sha256)
      throw new PoisonMessageError(`${what}: sha256 mismatch`);
    return Buffer.concat(parts, total);
  }

  async delete(name: string): Promise<void> {
    await this.os.delete(name).catch(() => {});
  }

  async destroy(): Promise<void> {
    await this.os.destroy().catch(() => {});
  }
}

// Names come from the message: quote them, and keep a hostile one from filling the reason.
function show(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

// The object store checks its own digest at the end of the stream; a mismatch is permanent.
function readError(what: string, err: unknown): Error {
  if (err instanceof Error && err.message.includes("digests do not match"))
    return new PoisonMessageError(`${what} is corrupt: its digest does not match`, { cause: err });
  return new TransientError(`${what} could not be read`, { cause: err });
}
