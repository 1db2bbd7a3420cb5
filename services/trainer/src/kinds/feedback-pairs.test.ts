import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { FeedbackReceivedSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import type { TrainSet } from "../data/eval-data.js";
import { feedbackPair, normalise, withFeedback } from "./feedback-pairs.js";

const event = (o: Omit<MessageInitShape<typeof FeedbackReceivedSchema>, "$typeName">) =>
  create(FeedbackReceivedSchema, { tenant: "acme", interaction: "i-1", question: "q?", ...o });

function trainSet(): TrainSet {
  const relevant = new Map([["d9", 2]]);
  return {
    name: "train",
    hash: "base",
    queries: [{ id: "q1", text: "first" }],
    qrels: new Map([["q1", relevant]]),
    judged: [{ id: "q1", text: "first", relevant }],
  };
}

describe("feedbackPair", () => {
  it("pairs the question with the named documents at any rating, once each", () => {
    const p = feedbackPair(
      event({ rating: -1, question: " refunds?\0 ", relevantDocumentIds: ["d1", "d2", "d1"] }),
      "acme",
    );
    expect(p).toEqual({ id: "feedback:i-1", text: "refunds?", documents: ["d1", "d2"] });
  });

  it("falls back to the feedback id when the interaction is missing", () => {
    const p = feedbackPair(
      event({ interaction: "", feedbackId: "f-7", relevantDocumentIds: ["d1"] }),
      "acme",
    );
    expect(p?.id).toBe("feedback:f-7");
  });

  it("gives nothing without a question, documents, the right tenant or a usable id", () => {
    expect(feedbackPair(event({ question: " \0 ", relevantDocumentIds: ["d1"] }), "acme")).toBe(
      undefined,
    );
    expect(feedbackPair(event({ relevantChunkIds: ["c1"], rating: 1 }), "acme")).toBeUndefined();
    expect(feedbackPair(event({ relevantDocumentIds: ["d1"] }), "globex")).toBeUndefined();
    expect(
      feedbackPair(event({ relevantDocumentIds: ["bad\nid", "\ud800"] }), "acme"),
    ).toBeUndefined();
    expect(
      feedbackPair(event({ interaction: "", relevantDocumentIds: ["d1"] }), "acme"),
    ).toBeUndefined();
  });

  it("keeps at most 100 documents of one feedback", () => {
    const ids = Array.from({ length: 150 }, (_, i) => `d${i}`);
    expect(feedbackPair(event({ relevantDocumentIds: ids }), "acme")?.documents).toHaveLength(100);
  });
});

describe("withFeedback", () => {
  const pairs = [
    { id: "feedback:i-2", text: "Refund   POLICY", documents: ["d2"] },
    { id: "feedback:i-1", text: "new question", documents: ["d1", "d3"] },
    { id: "q1", text: "collides with an eval query id", documents: ["d1"] },
  ];

  it("adds pairs at grade 1 to the training side, never a held-out question", () => {
    const base = trainSet();
    const { train, added } = withFeedback(base, pairs, new Set([normalise("refund policy")]));
    expect(added).toBe(1);
    expect(train.judged.map((q) => q.id)).toEqual(["q1", "feedback:i-1"]);
    expect(train.qrels.get("feedback:i-1")).toEqual(
      new Map([
        ["d1", 1],
        ["d3", 1],
      ]),
    );
    expect(train.qrels.get("q1")).toEqual(new Map([["d9", 2]]));
    expect(train.queries).toContainEqual({ id: "feedback:i-1", text: "new question" });
    expect(train.hash).toMatch(/^[0-9a-f]{64}$/);
    // The eval set's own labels are untouched.
    expect(base.judged).toHaveLength(1);
    expect(base.qrels.has("feedback:i-1")).toBe(false);
  });

  it("leaves the set and its hash as they were when nothing is added", () => {
    const base = trainSet();
    const r = withFeedback(base, [pairs[2]!], new Set());
    expect(r.added).toBe(0);
    expect(r.train).toBe(base);
  });

  it("hashes what was added, whatever the order the pairs came in", () => {
    const a = withFeedback(trainSet(), pairs, new Set()).train.hash;
    const b = withFeedback(trainSet(), [...pairs].reverse(), new Set()).train.hash;
    const c = withFeedback(trainSet(), pairs.slice(1), new Set()).train.hash;
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});
