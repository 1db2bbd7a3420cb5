import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { type ObjectRef, ObjectRefSchema } from "@tailor/proto";
import { PoisonMessageError, TransientError } from "./errors.js";

/**
 * Claim check: a payload too big for one NATS message is stored in a JetStream Object Store
 * bucket and the event carries only a reference (bucket, name, size, sha256).
 */
export class ClaimStore {
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

  async get(ref: ObjectRef): Promise<Uint8Array> {
    if (ref.bucket !== this.bucket)
      throw new PoisonMessageError(`text_ref.bucket ${ref.bucket} is not ${this.bucket}`);
    let data: Uint8Array | null;
    try {
      data = await this.os.getBlob(ref.name);
    } catch (err) {
      throw new TransientError(`claim ${ref.name} could not be read`, { cause: err });
    }
    if (!data) throw new PoisonMessageError(`text_ref ${ref.bucket}/${ref.name} does not exist`);
    const sha = createHash("sha256").update(data).digest("hex");
    if (ref.sha256 && sha !== ref.sha256)
      throw new PoisonMessageError(`text_ref ${ref.name}: sha256 mismatch`);
    return data;
  }

  async delete(name: string): Promise<void> {
    await this.os.delete(name).catch(() => {});
  }

  async destroy(): Promise<void> {
    await this.os.destroy().catch(() => {});
  }
}
