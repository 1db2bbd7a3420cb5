import { create, fromBinary } from "@bufbuild/protobuf";
import { Subjects } from "@tailor/bus";
import { ChunkSchema, ChunksDeletedSchema, ChunksUpsertedSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import {
  assertChunksFit,
  deletedEventRows,
  EMBEDDING_ROOM,
  upsertedEventRows,
} from "./chunk-events.js";
import { DocumentRejectedError } from "./store-errors.js";

const subjects = new Subjects("");
const LIMIT = 200 * 1024;
// The title and metadata ride along with every chunk: the 120 KB-title case in miniature.
const doc = {
  tenant: "acme",
  source: "crm",
  id: "line1\nline2",
  title: "T".repeat(4096),
  metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, "v".repeat(1000)])),
};
const chunks = Array.from({ length: 59 }, (_, i) =>
  create(ChunkSchema, {
    chunkId: i.toString(16).padStart(32, "0"),
    index: i,
    text: "word ".repeat(1000),
    tokenCount: 300,
  }),
);

describe("chunk events are split by encoded size, title and metadata included", () => {
  it("keeps every ChunksUpserted under the limit less the embedding room, and loses no chunk", () => {
    const rows = upsertedEventRows(subjects, doc, "v1", 7n, chunks, LIMIT);
    expect(rows.length).toBeGreaterThan(1);
    const seen: number[] = [];
    for (const r of rows) {
      expect(r.payload.length).toBeLessThanOrEqual(LIMIT - EMBEDDING_ROOM);
      const ev = fromBinary(ChunksUpsertedSchema, r.payload as Buffer);
      expect(ev.title).toBe(doc.title);
      seen.push(...ev.chunks.map((c) => c.index));
    }
    expect(seen).toEqual(chunks.map((c) => c.index));
    // Message ids are header-safe and distinct even for an id with a line break.
    const ids = rows.map((r) => r.msg_id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^chunks:acme:crm:#[0-9a-f]{40}:7:\d+$/);
  });

  it("splits ChunksDeleted of a document with many chunks", () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => i.toString(16).padStart(32, "0"));
    const rows = deletedEventRows(subjects, doc, ids, 3n, LIMIT);
    expect(rows.length).toBeGreaterThan(1);
    const all = rows.flatMap((r) => {
      expect(r.payload.length).toBeLessThanOrEqual(LIMIT);
      return fromBinary(ChunksDeletedSchema, r.payload as Buffer).chunkIds;
    });
    expect(all).toEqual(ids);
    expect(new Set(rows.map((r) => r.msg_id)).size).toBe(rows.length);
  });

  it("refuses a document whose single chunk cannot fit, naming text", () => {
    const huge = [{ index: 0, text: "x".repeat(LIMIT), tokenCount: 1 }];
    expect(() => assertChunksFit(doc, "v1", huge, LIMIT)).toThrow(DocumentRejectedError);
    expect(() => assertChunksFit(doc, "v1", huge, LIMIT)).toThrow(/^text: chunk 0 makes an event/);
    expect(() =>
      assertChunksFit(
        doc,
        "v1",
        chunks.map((c) => ({ index: c.index, text: c.text, tokenCount: c.tokenCount })),
        LIMIT,
      ),
    ).not.toThrow();
  });
});
