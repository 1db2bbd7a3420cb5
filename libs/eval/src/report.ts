import { type Comparison, compareSystems, type GateSpec } from "./compare.js";
import { type LatencySummary, summariseLatency } from "./latency.js";
import { renderMetricsChart } from "./svg-chart.js";
import { type EvalResult, METRIC_NAMES, type Metrics } from "./trec-eval.js";

/** One evaluated version, JSON-ready (a report is stored as JSON and rendered later). */
export interface VersionEval {
  version: string;
  numQueries: number;
  mean: Metrics;
  /** qid → metric values. */
  perQuery: Record<string, Metrics>;
  latency?: LatencySummary;
}

export interface EvalSetRef {
  name: string;
  /** Which part was scored, e.g. `held-out`, `train`, `all`. */
  split: string;
  queries: number;
}

/** Everything an evaluation found, in the order the versions were made (oldest first). */
export interface EvalReport {
  evalSet: EvalSetRef;
  versions: VersionEval[];
  champion?: string;
  candidate?: string;
  comparison?: Comparison;
  startedAt: string;
  finishedAt: string;
}

export interface VersionRun {
  version: string;
  result: EvalResult;
  /** Recorded query latencies in milliseconds. */
  latencyMs?: readonly number[];
}

export interface BuildReportInput {
  evalSet: EvalSetRef;
  /** Oldest first; the chart draws them in this order. */
  runs: readonly VersionRun[];
  /** Both or neither: the versions to compare under `gate`. */
  champion?: string;
  candidate?: string;
  gate?: Partial<GateSpec>;
  startedAt: Date;
  finishedAt: Date;
}

function metricsOf(m: Metrics): Metrics {
  return Object.fromEntries(METRIC_NAMES.map((k) => [k, m[k]])) as Metrics;
}

/** Builds the report object; compares champion and candidate when both are named. */
export function buildReport(input: BuildReportInput): EvalReport {
  const versions = input.runs.map((r): VersionEval => {
    const v: VersionEval = {
      version: r.version,
      numQueries: r.result.numQueries,
      mean: metricsOf(r.result.mean),
      perQuery: Object.fromEntries([...r.result.perQuery].map(([q, m]) => [q, metricsOf(m)])),
    };
    const latency = r.latencyMs ? summariseLatency(r.latencyMs) : undefined;
    if (latency) v.latency = latency;
    return v;
  });
  const report: EvalReport = {
    evalSet: input.evalSet,
    versions,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
  };
  if ((input.champion === undefined) !== (input.candidate === undefined)) {
    throw new RangeError("name both champion and candidate, or neither");
  }
  if (input.champion !== undefined && input.candidate !== undefined) {
    const find = (v: string) => {
      const r = input.runs.find((x) => x.version === v);
      if (!r) throw new RangeError(`no run for version ${JSON.stringify(v)}`);
      return r.result;
    };
    report.champion = input.champion;
    report.candidate = input.candidate;
    report.comparison = compareSystems(find(input.champion), find(input.candidate), input.gate);
  }
  return report;
}

/** Inline Markdown text: no line breaks or controls, and table/markup characters escaped. */
export function mdText(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ")
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
      .replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`)
  );
}

const f4 = (x: number) => x.toFixed(4);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(4)}`;
const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;

export interface MarkdownOptions {
  /** Where the chart is linked from (default `metrics.svg`, written beside the Markdown). */
  chartHref?: string;
}

/** The report as Markdown, plus the SVG chart it links to (write it at `chartHref`). */
export function renderReport(
  report: EvalReport,
  opts: MarkdownOptions = {},
): { markdown: string; svg: string } {
  const href = opts.chartHref ?? "metrics.svg";
  const lines: string[] = [];
  const set = report.evalSet;
  lines.push(`# Evaluation: ${mdText(set.name)} (${mdText(set.split)})`, "");
  lines.push(`- queries: ${set.queries}`);
  lines.push(`- started: ${report.startedAt}`, `- finished: ${report.finishedAt}`);
  if (report.champion !== undefined && report.candidate !== undefined) {
    lines.push(`- champion: \`${mdText(report.champion)}\``);
    lines.push(`- candidate: \`${mdText(report.candidate)}\``);
  }
  lines.push("", "## Metrics by version", "");
  lines.push(row(["version", "queries", ...METRIC_NAMES]));
  lines.push(row(["---", "---:", ...METRIC_NAMES.map(() => "---:")]));
  for (const v of report.versions) {
    lines.push(
      row([mdText(v.version), String(v.numQueries), ...METRIC_NAMES.map((m) => f4(v.mean[m]))]),
    );
  }
  lines.push("", `![metrics over versions](${href})`, "");
  const timed = report.versions.filter((v) => v.latency);
  if (timed.length > 0) {
    lines.push("## Latency (ms)", "", row(["version", "queries", "p50", "p95", "mean"]));
    lines.push(row(["---", "---:", "---:", "---:", "---:"]));
    for (const v of timed) {
      const l = v.latency!;
      lines.push(
        row([
          mdText(v.version),
          String(l.count),
          l.p50.toFixed(1),
          l.p95.toFixed(1),
          l.mean.toFixed(1),
        ]),
      );
    }
    lines.push("");
  }
  const c = report.comparison;
  if (c) {
    lines.push("## Candidate vs champion", "");
    lines.push(
      `Paired randomisation test, ${c.gate.rounds} rounds, seed ${c.gate.seed}, ${c.queries.length} queries.`,
      "",
    );
    lines.push(row(["metric", "champion", "candidate", "Δ", "p"]));
    lines.push(row(["---", "---:", "---:", "---:", "---:"]));
    for (const m of c.metrics) {
      lines.push(row([m.metric, f4(m.champion), f4(m.candidate), signed(m.delta), f4(m.pValue)]));
    }
    lines.push("", `### Verdict: ${c.verdict.pass ? "PASS" : "FAIL"}`, "");
    for (const k of c.verdict.checks)
      lines.push(`- ${k.passed ? "✔" : "✘"} ${k.check}: ${k.detail}`);
    lines.push("", `### Per query (${c.gate.primary})`, "");
    const champion = report.versions.find((v) => v.version === report.champion)!;
    const candidate = report.versions.find((v) => v.version === report.candidate)!;
    lines.push(row(["qid", "champion", "candidate", "Δ"]), row(["---", "---:", "---:", "---:"]));
    for (const q of c.queries) {
      const a = champion.perQuery[q]![c.gate.primary];
      const b = candidate.perQuery[q]![c.gate.primary];
      lines.push(row([mdText(q), f4(a), f4(b), signed(b - a)]));
    }
    lines.push("");
  }
  const svg = renderMetricsChart(
    report.versions.map((v) => ({ version: v.version, values: v.mean })),
    { title: `${set.name} (${set.split})` },
  );
  return { markdown: `${lines.join("\n")}\n`, svg };
}
