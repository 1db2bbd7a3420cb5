import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { binaryQrels, type EvalSet, pairedPermutationTest, splitEvalSet } from "@tailor/eval";
import { KeywordIndex } from "@tailor/keyword";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_RETRIEVAL_PARAMS,
  evaluateRetrievalParams,
  type KeywordCorpus,
  type RetrievalParamsTuning,
  retrievalParamsRun,
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

  it("tunes from the defaults to a measurably better train nDCG@10", () => {
    const trainDefault = evaluateRetrievalParams(corpus, train, DEFAULT_RETRIEVAL_PARAMS);
    const trainTuned = evaluateRetrievalParams(corpus, train, tuning.params);
    expect(tuning.start).toEqual(DEFAULT_RETRIEVAL_PARAMS);
    expect(tuning.startNdcg10).toBeCloseTo(trainDefault.mean.ndcg_cut_10, 12);
    expect(tuning.ndcg10).toBeCloseTo(trainTuned.mean.ndcg_cut_10, 12);
    expect(trainTuned.mean.ndcg_cut_10).toBeGreaterThanOrEqual(trainDefault.mean.ndcg_cut_10);
    expect(trainTuned.mean.ndcg_cut_10).toBeGreaterThanOrEqual(
      trainDefault.mean.ndcg_cut_10 + 0.005,
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
        rounds: tuning.rounds,
        stopReason: tuning.stopReason,
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

  it("keeps a JSON history whose scores never fall within an ascent, and repeats with a seed", async () => {
    expect(tuning.history[0]).toMatchObject({ ascent: 0, param: "start" });
    expect(tuning.history.length).toBeGreaterThan(5);
    expect(new Set(tuning.history.map((h) => h.ascent)).size).toBe(3);
    for (let i = 1; i < tuning.history.length; i++) {
      const [prev, step] = [tuning.history[i - 1]!, tuning.history[i]!];
      if (step.ascent === prev.ascent) expect(step.ndcg10).toBeGreaterThanOrEqual(prev.ndcg10);
      else expect(step.param).toBe("start");
    }
    const bestStep = Math.max(...tuning.history.map((h) => h.ndcg10));
    expect(tuning.ndcg10).toBe(bestStep);
    expect(JSON.parse(JSON.stringify(tuning))).toEqual(tuning);
    const quick = { seed: 3, maxRounds: 1, restarts: 1, samples: 4 };
    const once = tuneRetrievalParams(corpus, train, quick);
    expect(tuneRetrievalParams(corpus, train, quick)).toEqual(once);
    // The async form gives the event loop turns but the very same run.
    expect(await tuneRetrievalParamsAsync(corpus, train, quick)).toEqual(once);
  });

  it("stops at the evaluation budget and refuses a train set without judgments", () => {
    const capped = tuneRetrievalParams(corpus, train, { maxEvaluations: 5 });
    expect(capped.stopReason).toBe("max_evaluations");
    expect(capped.evaluations).toBe(5);
    expect(() => tuneRetrievalParams(corpus, { queries: train.queries, qrels: new Map() })).toThrow(
      /no judged train queries/,
    );
    expect(() => tuneRetrievalParams(corpus, train, { grid: { b: [1.5] } })).toThrow(/b = 1.5/);
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
