import {
  askDemo,
  DEMO_QUESTIONS,
  demoDocuments,
  publishDemo,
  waitSearchable,
} from "@tailor/deploy-local";
import { type Harness, ROOT, startHarness } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("npm run demo: its corpus answers its questions", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("demo");
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  it("finds the section that answers each question first", async () => {
    const docs = await demoDocuments(ROOT);
    expect(docs.length).toBeGreaterThan(10);
    expect(docs.every((d) => !String(d.metadata?.["path"]).startsWith("loadtest/"))).toBe(true);
    const published = await publishDemo(h.bus, h.ingestion, docs);
    expect(published.published).toBe(docs.length);
    const s = await waitSearchable(h.bus, h.retrieval, docs.length);
    expect(s.documents).toBe(docs.length);
    const answers = await askDemo(h.retrieval);
    expect(answers.map((a) => a.question)).toEqual(DEMO_QUESTIONS);
    const top = answers.map((a) => ({
      query: a.question.query,
      top: a.hits.map((hit) => hit.documentId),
    }));
    expect(top.map((t) => ({ query: t.query, first: t.top[0] }))).toEqual(
      DEMO_QUESTIONS.map((q) => ({ query: q.query, first: q.expect })),
    );
  }, 240_000);
});
