import { create, toBinary } from "@bufbuild/protobuf";
import { isPoisonMessageError } from "@tailor/bus";
import { ChunkSchema, ChunksUpsertedSchema, EmbeddingsReadySchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import { embeddingEvents } from "./embedding-events.js";

const DIMS = 384;
const input = (n: number, title: string, textBytes = 1500) =>
  create(ChunksUpsertedSchema, {
    tenant: "acme",
    source: "crm",
    documentId: "doc-1",
    title,
    documentVersion: "v",
    revision: 1n,
    metadata: { region: "r".repeat(4000), owner: "o".repeat(4000) },
    chunks: Array.from({ length: n }, (_, i) =>
      create(ChunkSchema, {
        chunkId: i.toString(16).padStart(32, "0"),
        index: i,
        text: "w".repeat(textBytes),
        tokenCount: 10,
      }),
    ),
  });
const vectorsFor = (n: number) => Float32Array.from({ length: n * DIMS }, (_, i) => i);

describe("embeddingEvents", () => {
  it("splits 59 chunks with a 4 KiB title and 8 KiB of metadata under the limit, keeping rows and vectors aligned", () => {
    const ev = input(59, "T".repeat(4096));
    const limit = 256 * 1024;
    const parts = embeddingEvents(
      ev,
      { model: "m", version: "v1", dimensions: DIMS, vectors: vectorsFor(59) },
      limit,
    );
    expect(parts.length).toBeGreaterThan(1);
    let row = 0;
    for (const p of parts) {
      expect(toBinary(EmbeddingsReadySchema, p).length).toBeLessThanOrEqual(limit);
      expect(p.vectors.byteLength).toBe(p.chunks.length * DIMS * 4);
      const first = new Float32Array(
        p.vectors.buffer.slice(p.vectors.byteOffset, p.vectors.byteOffset + 4),
      )[0];
      expect(first).toBe(row * DIMS);
      expect(p.chunks[0]!.index).toBe(row);
      row += p.chunks.length;
    }
    expect(row).toBe(59);
  });

  it("refuses, as poison, an event whose single chunk cannot fit", () => {
    const ev = input(1, "T", 300_000);
    let err: unknown;
    try {
      embeddingEvents(
        ev,
        { model: "m", version: "v1", dimensions: DIMS, vectors: vectorsFor(1) },
        256 * 1024,
      );
    } catch (e) {
      err = e;
    }
    expect(isPoisonMessageError(err)).toBe(true);
  });
});
