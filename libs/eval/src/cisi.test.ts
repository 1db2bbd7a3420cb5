import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  cisiDir,
  findRepoRoot,
  loadCisi,
  parseCisiDocs,
  parseCisiQrels,
  parseCisiQueries,
} from "./cisi.js";

describe("CISI parsing (synthetic)", () => {
  it("handles multi-line fields, repeated .A, inline markers and extra fields", () => {
    const docs = parseCisiDocs(
      [
        ".I 1",
        ".T ",
        "A Title Split",
        "Over Lines",
        ".A",
        "Doe, J.",
        "Roe, R.",
        ".A",
        "Poe, E.A.",
        ".B",
        "1970",
        ".W",
        "   First line..",
        ".. still abstract",
        ".K",
        "keywords",
        ".X",
        "1\t5\t1",
        ".I 2",
        ".T Inline title",
        ".W",
        "Body",
      ].join("\n"),
    );
    expect(docs).toEqual([
      {
        id: "1",
        title: "A Title Split Over Lines",
        text: "First line.. .. still abstract",
        authors: ["Doe, J.", "Roe, R.", "Poe, E.A."],
      },
      { id: "2", title: "Inline title", text: "Body", authors: [] },
    ]);
  });

  it("puts the query title before the body when present", () => {
    const qs = parseCisiQueries(
      ".I 1\n.W\nOnly body\n.I 2\n.T\nTitle\n.A\nX\n.W\nBody\n.B\n(ref)\n",
    );
    expect(qs).toEqual([
      { id: "1", text: "Only body" },
      { id: "2", text: "Title\nBody" },
    ]);
  });

  it("reads padded qrels lines", () => {
    const q = parseCisiQrels(
      "     1     28\t0\t0.000000\n     1     35\t0\t0.000000\n    2 7 0 0.0\n",
    );
    expect(q).toEqual(
      new Map([
        ["1", new Set(["28", "35"])],
        ["2", new Set(["7"])],
      ]),
    );
  });

  it("rejects duplicate ids and stray text", () => {
    expect(() => parseCisiDocs(".I 1\n.W\na\n.I 1\n.W\nb\n")).toThrow(/duplicate/);
    expect(() => parseCisiDocs("stray\n.I 1\n")).toThrow(/outside/);
  });
});

describe("cisiDir", () => {
  const saved = process.env["TAILOR_CISI_DIR"];
  afterEach(() => {
    if (saved === undefined) delete process.env["TAILOR_CISI_DIR"];
    else process.env["TAILOR_CISI_DIR"] = saved;
  });

  it("defaults to ../shared/data/cisi beside the repo root", () => {
    delete process.env["TAILOR_CISI_DIR"];
    expect(cisiDir()).toBe(join(findRepoRoot(), "..", "shared", "data", "cisi"));
  });

  it("honours TAILOR_CISI_DIR", () => {
    process.env["TAILOR_CISI_DIR"] = "/tmp/elsewhere";
    expect(cisiDir()).toBe("/tmp/elsewhere");
  });
});

const dataDir = (() => {
  try {
    return cisiDir();
  } catch {
    return undefined;
  }
})();
const haveData = dataDir !== undefined && existsSync(join(dataDir, "CISI.ALL"));

// The collection lives outside the repo; skip rather than fail on checkouts without it.
describe.skipIf(!haveData)("CISI collection (real files)", () => {
  const cisi = haveData ? loadCisi(dataDir) : undefined;

  it("has the documented counts", () => {
    const { docs, queries, qrels } = cisi!;
    expect(docs).toHaveLength(1460);
    expect(queries).toHaveLength(112);
    expect(qrels.size).toBe(76);
    let pairs = 0;
    for (const s of qrels.values()) pairs += s.size;
    expect(pairs).toBe(3114);
  });

  it("has sequential ids and qrels that refer to known queries and docs", () => {
    const { docs, queries, qrels } = cisi!;
    expect(docs.map((d) => d.id)).toEqual(docs.map((_, i) => String(i + 1)));
    expect(queries.map((q) => q.id)).toEqual(queries.map((_, i) => String(i + 1)));
    const docIds = new Set(docs.map((d) => d.id));
    const queryIds = new Set(queries.map((q) => q.id));
    for (const [qid, rel] of qrels) {
      expect(queryIds.has(qid)).toBe(true);
      for (const d of rel) expect(docIds.has(d)).toBe(true);
    }
  });

  it("parses fields without leaking markers or metadata", () => {
    const { docs, queries } = cisi!;
    const d1 = docs[0]!;
    expect(d1.title).toBe("18 Editions of the Dewey Decimal Classifications");
    expect(d1.authors).toEqual(["Comaromi, J.P."]);
    expect(d1.text.startsWith("The present study is a history of the DEWEY Decimal")).toBe(true);
    expect(d1.text).not.toMatch(/\n/);
    expect(docs.find((d) => d.id === "15")!.authors).toEqual([
      "Allen, Thomas J.",
      "Cohen, Stephen I.",
    ]);
    expect(docs.reduce((n, d) => n + d.authors.length, 0)).toBeGreaterThan(1609);
    for (const d of docs) {
      expect(d.title).not.toBe("");
      expect(d.text).not.toBe("");
      expect(`${d.title} ${d.text}`).not.toMatch(/(^|\s)\.[A-Z](\s|$)/);
    }
    expect(queries[0]!.text.startsWith("What problems and concerns")).toBe(true);
    const titled = queries.filter((q) => q.text.includes("\n"));
    expect(titled).toHaveLength(55);
    expect(queries.every((q) => !q.text.includes("JASIS"))).toBe(true);
  });
});
