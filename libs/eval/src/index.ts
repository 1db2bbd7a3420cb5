export {
  type CisiCollection,
  type CisiDoc,
  type CisiQuery,
  cisiDir,
  findRepoRoot,
  loadCisi,
  parseCisiDocs,
  parseCisiQrels,
  parseCisiQueries,
} from "./cisi.js";
export {
  type Comparison,
  compareSystems,
  DEFAULT_GATE,
  type GateCheck,
  type GateSpec,
  type MetricComparison,
  type Verdict,
} from "./compare.js";
export {
  type EvalQuery,
  type EvalSet,
  EvalSetParseError,
  isEvalSetParseError,
  judgedQueries,
  type ParseLimits,
  parseQrels,
  parseTopics,
  QUERY_TEXT_RULE,
  type TrecImport,
  trecEvalSet,
} from "./eval-set.js";
export { type LatencySummary, latencyByVersion, summariseLatency } from "./latency.js";
export { parseQaJsonl, type QaLine } from "./qa-jsonl.js";
export {
  type BuildReportInput,
  buildReport,
  type EvalReport,
  type EvalSetRef,
  type MarkdownOptions,
  mdText,
  renderReport,
  type VersionEval,
  type VersionRun,
} from "./report.js";
export { type SplitEvalSet, type SplitSpec, splitEvalSet, splitSide } from "./split.js";
export { median, type PermutationTestOptions, pairedPermutationTest, percentile } from "./stats.js";
export {
  type ChartOptions,
  type ChartPoint,
  DEFAULT_CHART_METRICS,
  renderMetricsChart,
  xmlText,
} from "./svg-chart.js";
export {
  binaryQrels,
  type EvalResult,
  type EvaluateOptions,
  evaluate,
  METRIC_NAMES,
  type MetricName,
  type Metrics,
  parseTrecRun,
  type Qrels,
  type QueryEval,
  type Run,
  type ScoredDoc,
  type ScorePrecision,
  sortLikeTrecEval,
  writeTrecRun,
} from "./trec-eval.js";
