import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { latencyByVersion } from "./latency.js";
import { buildReport, renderReport } from "./report.js";
import { renderMetricsChart } from "./svg-chart.js";
import { evaluate, type Qrels, type Run } from "./trec-eval.js";

const qids = ["1", "2", "3", "4", "5", "6", "7", "8"];
const qrels: Qrels = new Map(qids.map((q) => [q, new Map([["r", 1]])]));
const runAt = (rank: number): Run =>
  new Map(
    qids.map((q) => [
      q,
      Array.from({ length: rank }, (_, i) => ({
        docId: i === rank - 1 ? "r" : `n${i}`,
        score: -i,
      })),
    ]),
  );

const report = buildReport({
  evalSet: { name: "cisi-even", split: "held-out", queries: 8 },
  runs: [
    { version: "base@1", result: evaluate(runAt(4), qrels), latencyMs: [10, 20, 30, 40] },
    { version: "glove+adapter@2", result: evaluate(runAt(2), qrels) },
    { version: "cand@3", result: evaluate(runAt(1), qrels), latencyMs: [5, 5, 5, 25] },
  ],
  champion: "glove+adapter@2",
  candidate: "cand@3",
  gate: { seed: 1, rounds: 2000 },
  startedAt: new Date("2025-01-02T03:04:05Z"),
  finishedAt: new Date("2025-01-02T03:04:09Z"),
});

describe("reports", () => {
  it("holds means, per-query values, latency, p-values and the verdict", () => {
    expect(report.versions.map((v) => v.mean.recip_rank)).toEqual([0.25, 0.5, 1]);
    expect(report.versions[0]!.perQuery["3"]!.recip_rank).toBe(0.25);
    expect(report.versions[0]!.latency).toEqual({ count: 4, p50: 25, p95: 38.5, mean: 25 });
    expect(report.versions[1]!.latency).toBeUndefined();
    expect(report.comparison!.verdict.pass).toBe(true);
    expect(report.comparison!.metrics.find((m) => m.metric === "mrr_10")!.delta).toBe(0.5);
    // JSON-ready: survives a round trip unchanged (it is stored as JSON).
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it("renders Markdown that holds the figures", () => {
    const { markdown } = renderReport(report, { chartHref: "chart.svg" });
    expect(markdown).toContain("# Evaluation: cisi-even (held-out)");
    expect(markdown).toContain("- started: 2025-01-02T03:04:05.000Z");
    expect(markdown).toMatch(/\| cand@3 \| 8 \| 1\.0000 \| 1\.0000 \| 1\.0000 \|/);
    expect(markdown).toContain("| base@1 | 4 | 25.0 | 38.5 | 25.0 |");
    expect(markdown).toContain("| mrr_10 | 0.5000 | 1.0000 | +0.5000 |");
    expect(markdown).toContain("### Verdict: PASS");
    expect(markdown).toMatch(/- ✔ significance: ndcg_cut_10 p = 0\.0\d{3} < alpha 0\.05/);
    expect(markdown).toContain("![metrics over versions](chart.svg)");
    expect(markdown).toContain("| 8 | 0.6309 | 1.0000 | +0.3691 |");
  });

  it("draws a well-formed SVG with one line per metric over the versions", () => {
    const { svg } = renderReport(report);
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(svg);
    const lines = [doc.svg.polyline].flat();
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l.points.split(" ")).toHaveLength(3);
    expect([doc.svg.circle].flat()).toHaveLength(12);
    expect(svg).toContain(">glove+adapter@2</text>");
  });

  it("stays well-formed and safe with hostile version names", () => {
    const svg = renderMetricsChart([
      { version: '<script>&"\u0000\u0007\ud800', values: { map: 0.5 } },
      { version: "x".repeat(100), values: { map: Number.NaN, ndcg_cut_10: 0.2 } },
    ]);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;&amp;&quot;");
    const { markdown } = renderReport({
      ...report,
      evalSet: { ...report.evalSet, name: "a|b\n# x" },
    });
    expect(markdown.split("\n")[0]).toBe("# Evaluation: a\\|b \\# x (held-out)");
  });

  it("summarises latency per version", () => {
    const byVersion = latencyByVersion(
      new Map([
        ["v1", [1, 2, 3]],
        ["v2", []],
      ]),
    );
    expect([...byVersion.keys()]).toEqual(["v1"]);
    expect(byVersion.get("v1")).toMatchObject({ p50: 2, p95: 2.9 });
    expect(() => latencyByVersion(new Map([["v", [-1]]]))).toThrow(RangeError);
  });
});
