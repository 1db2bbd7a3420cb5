import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { binaryQrels, type EvalSet, pairedPermutationTest, splitEvalSet } from "@tailor/eval";
import { KeywordIndex } from "@tailor/keyword";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_RETRIEVAL_GRID,
  DEFAULT_RETRIEVAL_PARAMS,
  evaluateRetrievalParams,
  type KeywordCorpus,
  type RetrievalParamsTuning,
  retrievalParamsRun,
  TUNING_OBJECTIVE,
  tuneRetrievalParams,
  tuneRetrievalParamsAsync,
} from "./retrieval-params.js";

const CISI = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/data/cisi");

/** SMART-style `.I` records: id → (field letter → text, lines joined). */
function parseTagged(text: string): Map<string, Map<string, string>> {
  const records = new Map<string, Map<string, string>>();
  let fields: Map<string, string> | undefined;
  let field = "";
  for (const line of text.split(/\r?\n/)) {
    const m = /^\.([A-Z])(?:\s+(.*))?$/.exec(line);
    if (m) {
      field = m[1]!;
      if (field === "I") {
        fields = new Map();
        records.set((m[2] ?? "").trim(), fields);
      } else if (m[2]) fields?.set(field, `${fields.get(field) ?? ""} ${m[2]}`);
      continue;
    }
    fields?.set(field, `${fields.get(field) ?? ""} ${line}`);
  }
  return records;
}

const clean = (s: string | undefined) => (s ?? "").replace(/\s+/g, " ").trim();

/** CISI as an index (title + abstract) and an eval set of its judged queries. */
function loadCisi(): { corpus: KeywordCorpus; set: EvalSet } {
  const index = new KeywordIndex();
  for (const [id, f] of parseTagged(readFileSync(join(CISI, "CISI.ALL"), "utf8"))) {
    index.add("cisi", id, {
      title: clean(f.get("T")),
      text: clean(f.get("W")),
      source: "cisi",
      metadata: {},
    });
  }
  const queries = [...parseTagged(readFileSync(join(CISI, "CISI.QRY"), "utf8"))].map(([id, f]) => ({
    id,
    text: [clean(f.get("T")), clean(f.get("W"))].filter((s) => s !== "").join("\n"),
  }));
  const judged = new Map<string, Set<string>>();
  for (const row of readFileSync(join(CISI, "CISI.REL"), "utf8").split(/\r?\n/)) {
    const [qid, docId] = row.trim().split(/\s+/);
    if (!qid || !docId) continue;
    judged.set(qid, (judged.get(qid) ?? new Set()).add(docId));
  }
  return { corpus: { index, tenant: "cisi" }, set: { queries, qrels: binaryQrels(judged) } };
}

describe("retrieval-params tuning on CISI (odd queries train, even held out)", () => {
  let corpus: KeywordCorpus;
  let train: EvalSet;
  let heldOut: EvalSet;
  let tuning: RetrievalParamsTuning;

  beforeAll(() => {
    const cisi = loadCisi();
    corpus = cisi.corpus;
    ({ train, heldOut } = splitEvalSet(cisi.set, { method: "parity" }));
    tuning = tuneRetrievalParams(corpus, train, { seed: 0 });
  });

  it("loads the collection and splits its 76 judged queries", () => {
    expect(corpus.index.count("cisi")).toBe(1460);
    expect(train.qrels.size + heldOut.qrels.size).toBe(76);
    expect(train.qrels.size).toBeGreaterThan(30);
  });

  it("tunes from the defaults to a measurably better train objective (mean of nDCG@10 and MAP)", () => {
    const trainDefault = evaluateRetrievalParams(corpus, train, DEFAULT_RETRIEVAL_PARAMS);
    const trainTuned = evaluateRetrievalParams(corpus, train, tuning.params);
    expect(tuning.start).toEqual(DEFAULT_RETRIEVAL_PARAMS);
    expect(tuning.startScore).toBeCloseTo(TUNING_OBJECTIVE(trainDefault.mean), 12);
    expect(tuning.score).toBeCloseTo(TUNING_OBJECTIVE(trainTuned.mean), 12);
    expect(TUNING_OBJECTIVE(trainTuned.mean)).toBeGreaterThanOrEqual(
      TUNING_OBJECTIVE(trainDefault.mean) + 0.005,
    );
    expect(tuning.params).not.toEqual(DEFAULT_RETRIEVAL_PARAMS);

    const heldDefault = evaluateRetrievalParams(corpus, heldOut, DEFAULT_RETRIEVAL_PARAMS);
    const heldTuned = evaluateRetrievalParams(corpus, heldOut, tuning.params);
    const qids = [...heldDefault.perQuery.keys()];
    const pValue = (m: "ndcg_cut_10" | "map") =>
      pairedPermutationTest(
        qids.map((q) => heldTuned.perQuery.get(q)![m]),
        qids.map((q) => heldDefault.perQuery.get(q)![m]),
        { seed: 1 },
      );
    // Figures for the report; held-out gains are a goal, not an assertion.
    console.info(
      JSON.stringify({
        params: tuning.params,
        evaluations: tuning.evaluations,
        chosen: tuning.chosen,
        train: { default: trainDefault.mean.ndcg_cut_10, tuned: trainTuned.mean.ndcg_cut_10 },
        heldOut: {
          queries: heldDefault.numQueries,
          default: { ndcg10: heldDefault.mean.ndcg_cut_10, map: heldDefault.mean.map },
          tuned: { ndcg10: heldTuned.mean.ndcg_cut_10, map: heldTuned.mean.map },
          pNdcg10: pValue("ndcg_cut_10"),
          pMap: pValue("map"),
        },
      }),
    );
    expect(heldDefault.numQueries).toBe(heldOut.qrels.size);
  });

  it("picks each parameter's best main effect over a balanced design, and repeats with a seed", async () => {
    expect(tuning.history[0]).toMatchObject({ phase: "start", params: DEFAULT_RETRIEVAL_PARAMS });
    expect(tuning.history.filter((h) => h.phase === "sample")).toHaveLength(160);
    expect(tuning.history.at(-1)).toMatchObject({ phase: "main-effects", params: tuning.pick });
    for (const [name, effects] of Object.entries(tuning.effects)) {
      const grid = DEFAULT_RETRIEVAL_GRID[name as keyof typeof DEFAULT_RETRIEVAL_GRID];
      expect(effects.map((e) => e.value)).toEqual([...grid]);
      // Balanced: every value of the grid is held by the same number of points, ±1.
      const ns = effects.map((e) => e.n);
      expect(Math.max(...ns) - Math.min(...ns)).toBeLessThanOrEqual(1);
      expect(ns.reduce((a, b) => a + b)).toBe(160);
      const best = Math.max(...effects.map((e) => e.mean));
      expect(effects.find((e) => e.mean === best)!.value).toBe(
        tuning.pick[name as keyof typeof tuning.pick],
      );
      // Each mean is the average over the design points holding the value.
      const e0 = effects[0]!;
      const held = tuning.history.filter(
        (h) => h.phase === "sample" && h.params[name as keyof typeof h.params] === e0.value,
      );
      expect(e0.mean).toBeCloseTo(held.reduce((t, h) => t + h.score, 0) / held.length, 12);
    }
    expect(tuning.chosen).toBe("main-effects");
    expect(tuning.params).toEqual(tuning.pick);
    expect(JSON.parse(JSON.stringify(tuning))).toEqual(tuning);
    const quick = { seed: 3, samples: 12 };
    const once = tuneRetrievalParams(corpus, train, quick);
    expect(tuneRetrievalParams(corpus, train, quick)).toEqual(once);
    expect(tuneRetrievalParams(corpus, train, { seed: 4, samples: 12 }).history).not.toEqual(
      once.history,
    );
    // The async form gives the event loop turns but the very same run.
    expect(await tuneRetrievalParamsAsync(corpus, train, quick)).toEqual(once);
  });

  it("keeps the start when the pick does not beat it, and refuses bad options", () => {
    // A grid holding only the defaults' own values except for a worse b: the pick is no gain.
    const grid = { k1: [0.9], b: [0.4, 0.05], fbDocs: [10], fbTerms: [10], originalWeight: [0.5] };
    const kept = tuneRetrievalParams(corpus, train, { grid, samples: 8 });
    expect(kept.pick).toEqual(DEFAULT_RETRIEVAL_PARAMS);
    expect(kept.chosen).toBe("start");
    expect(kept.params).toEqual(DEFAULT_RETRIEVAL_PARAMS);
    expect(kept.score).toBe(kept.startScore);
    expect(() => tuneRetrievalParams(corpus, { queries: train.queries, qrels: new Map() })).toThrow(
      /no judged train queries/,
    );
    expect(() => tuneRetrievalParams(corpus, train, { grid: { b: [1.5] } })).toThrow(/b = 1.5/);
    expect(() => tuneRetrievalParams(corpus, train, { samples: 0 })).toThrow(/samples = 0/);
  });
});

describe("a chunk index judged by document", () => {
  it("ranks each document at its best chunk, once", () => {
    const index = new KeywordIndex();
    const add = (id: string, text: string) =>
      index.add("t", id, { title: "", text, source: "s", metadata: {} });
    add("a#0", "tomato soup recipe tomato");
    add("a#1", "tomato garden");
    add("b#0", "bread recipe");
    const corpus: KeywordCorpus = { index, tenant: "t", documentOf: (id) => id.split("#")[0] };
    const set: EvalSet = {
      queries: [{ id: "1", text: "tomato recipe" }],
      qrels: new Map([["1", new Map([["a", 1]])]]),
    };
    const params = { ...DEFAULT_RETRIEVAL_PARAMS, originalWeight: 1 };
    const r = evaluateRetrievalParams(corpus, set, params);
    expect(r.mean.ndcg_cut_10).toBe(1);
    const run = retrievalParamsRun(corpus, set.queries, params);
    expect(run.get("1")!.map((d) => d.docId)).toEqual(["a", "b"]);
  });
});
