import { createHash } from "node:crypto";
import type { ObjectRef } from "@tailor/proto";
import { testNatsUrl, uniquePrefix, withTestBusPrefix } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bus } from "./bus.js";
import type { ClaimStore } from "./claim-check.js";
import { PoisonMessageError } from "./errors.js";

const MB = 1024 * 1024;
// The object store's default chunk: how far a read may run past a limit before it stops.
const CHUNK = 128 * 1024;

describe("claim check (real nats-server object store)", () => {
  const prefix = uniquePrefix("claim");
  let bus: Bus;
  let store: ClaimStore;
  let cleanup: () => Promise<void>;
  let big: ObjectRef;

  beforeAll(async () => {
    bus = await Bus.connect({ url: testNatsUrl(), name: "claim-check-test", prefix });
    cleanup = (await withTestBusPrefix(prefix)).cleanup;
    store = await bus.claimStore();
    big = await store.put(new Uint8Array(20 * MB).map((_, i) => (i * 31) % 251));
  }, 60_000);
  afterAll(async () => {
    await bus?.close();
    await cleanup?.();
  });

  // Rewrites the object's stored info as a hostile writer of the bucket could.
  async function forgeInfoSize(name: string, size: number): Promise<void> {
    // The object store's meta subject: base64url of the name, with padding.
    const b64 = Buffer.from(name).toString("base64url");
    const subject = `$O.${store.bucket}.M.${b64.padEnd(Math.ceil(b64.length / 4) * 4, "=")}`;
    const meta = await bus.jsm.streams.getMessage(`OBJ_${store.bucket}`, {
      last_by_subj: subject,
    });
    expect(meta).not.toBeNull();
    await bus.js.publish(subject, JSON.stringify({ ...meta?.json<object>(), size }));
  }

  async function refusal(ref: ObjectRef, maxBytes?: number): Promise<{ err: Error; read: number }> {
    const before = store.bytesRead;
    const err = await store.get(ref, { maxBytes }).then(
      () => new Error("expected a refusal"),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PoisonMessageError);
    return { err, read: store.bytesRead - before };
  }

  it("reads a body back whole and checks its sha256", async () => {
    const data = new Uint8Array(3 * MB).map((_, i) => i % 253);
    const ref = await store.put(data);
    const before = store.bytesRead;
    const back = await store.get(ref, { maxBytes: 3 * MB });
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    expect(store.bytesRead - before).toBe(data.length);
    // Undeclared size and sha256 (0 and ""), with no limit: still read.
    expect((await store.get({ ...ref, size: 0n, sha256: "" })).length).toBe(data.length);
  });

  it("refuses a 20 MB object declared as 10 bytes without reading it", async () => {
    const { err, read } = await refusal({ ...big, size: 10n }, MB);
    expect(err.message).toBe(
      `text_ref "${store.bucket}"/"${big.name}" holds ${20 * MB} bytes, not the declared 10`,
    );
    expect(read).toBe(0);
  });

  it("refuses an object over maxBytes by its stored size when none is declared", async () => {
    const { err, read } = await refusal({ ...big, size: 0n }, MB);
    expect(err.message).toContain(`holds ${20 * MB} bytes, over the limit of ${MB}`);
    expect(read).toBe(0);
  });

  it("refuses a declared size over maxBytes before asking the store", async () => {
    const { err, read } = await refusal(big, MB);
    expect(err.message).toContain(`declares ${20 * MB} bytes, over the limit of ${MB}`);
    expect(read).toBe(0);
  });

  it("refuses wrong checksums, missing objects and other buckets", async () => {
    const small = await store.put(new Uint8Array([1, 2, 3]));
    const bad = await refusal({ ...small, sha256: "0".repeat(64) });
    expect(bad.err.message).toContain("sha256 mismatch");
    const missing = await refusal({ ...small, name: "sha256-missing" });
    expect(missing.err.message).toContain("does not exist");
    const other = await refusal({ ...small, bucket: "elsewhere" });
    expect(other.err.message).toContain("is not");
  });

  describe("when the stored info lies about the size", () => {
    beforeAll(async () => {
      await forgeInfoSize(big.name, 10);
    });

    it("stops reading just past the declared size", async () => {
      const rssBefore = process.memoryUsage().rss;
      const { err, read } = await refusal({ ...big, size: 10n }, MB);
      expect(err.message).toContain("is longer than 10 bytes");
      expect(read).toBeGreaterThan(10);
      expect(read).toBeLessThanOrEqual(CHUNK);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(16 * MB);
    });

    it("stops reading just past maxBytes when no size is declared", async () => {
      const { err, read } = await refusal({ ...big, size: 0n, sha256: "" }, MB);
      expect(err.message).toContain(`is longer than ${MB} bytes`);
      expect(read).toBeGreaterThan(MB);
      expect(read).toBeLessThanOrEqual(MB + CHUNK);
    });
  });

  it("hashes what it reads the way put() names it", async () => {
    const data = new TextEncoder().encode("claim checked text");
    const ref = await store.put(data);
    expect(ref.name).toBe(`sha256-${createHash("sha256").update(data).digest("hex")}`);
    expect(new TextDecoder().decode(await store.get(ref, { maxBytes: 100 }))).toBe(
      "claim checked text",
    );
  });
});
