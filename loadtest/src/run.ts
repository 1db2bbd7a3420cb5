import { setMaxListeners } from "node:events";
import { newRunId, tenantOf } from "./corpus.js";
import { LagMonitor } from "./lag.js";
import type { Figure } from "./metrics.js";
import type { LoadtestOptions } from "./options.js";
import { countIndexed, spotCheck, VisibilityProbe } from "./probes.js";
import { PublishLoad } from "./publish-load.js";
import { pause } from "./rate.js";
import { SearchLoad } from "./search-load.js";
import type { Target } from "./target.js";

/** A progress line (stderr); kept apart from the figures so stdout stays machine-readable. */
export type Progress = (fields: Record<string, unknown>) => void;

const seconds = (ms: number) => ms / 1000;

/**
 * One load-test run: ingest and search load for the duration, then a drain while the index
 * catches up, then the loss count and the spot check. Returns the figures.
 */
export async function runLoadtest(
  o: LoadtestOptions,
  target: Target,
  progress: Progress,
  signal: AbortSignal,
): Promise<Figure[]> {
  const runId = newRunId();
  const tenants = Array.from({ length: o.tenants }, (_, i) => tenantOf(runId, i));
  const durationMs = o.durationS * 1000;
  const planned = Math.floor(o.rate * o.durationS);
  progress({ event: "start", run: runId, target: target.describe, planned_documents: planned });

  // Probes may keep polling through the drain, never past it.
  const probeDeadline = new AbortController();
  // Every waiting probe listens on this one signal; dozens of them are expected, not a leak.
  setMaxListeners(0, probeDeadline.signal);
  const stopProbes = () => probeDeadline.abort();
  signal.addEventListener("abort", stopProbes, { once: true });
  const probe = new VisibilityProbe(target.retrieval, probeDeadline.signal);
  const lag = new LagMonitor(target.bus);
  const publish = new PublishLoad(target.bus, {
    runId,
    rate: o.rate,
    durationMs,
    tenants: o.tenants,
    docBytes: o.docBytes,
    seed: o.seed,
    maxInFlight: o.maxInFlight,
    sampleEvery: o.latencySamples > 0 ? Math.max(1, Math.floor(planned / o.latencySamples)) : 0,
    spotEvery: o.spotChecks > 0 ? Math.max(1, Math.floor(planned / o.spotChecks)) : 0,
    signal,
    onSampled: (d, at) => probe.track(d, at),
  });
  const search = new SearchLoad(target.retrieval, {
    rate: o.searchRate,
    durationMs,
    mode: o.searchMode,
    tenants,
    seed: o.seed,
    maxInFlight: o.maxInFlight,
    signal,
  });

  lag.start();
  const reporting = new AbortController();
  const reporter = report(o, publish, search, lag, target, tenants, progress, reporting.signal);
  // The drain starts when publishing ends; searches still in flight on a slow index finish meanwhile.
  const searching = search.run();
  await publish.run();
  const loadEnd = performance.now();
  progress({ event: "load done", published: publish.published, errors: publish.errors });

  // Drain: wait until every acknowledged document is searchable, or the drain time is up.
  const drainDeadline = loadEnd + o.drainS * 1000;
  let indexed = 0;
  let indexedAt = loadEnd;
  while (!signal.aborted) {
    const n = await countIndexed(target.retrieval, tenants).catch(() => indexed);
    if (n !== indexed) indexedAt = performance.now();
    indexed = n;
    if (indexed >= publish.published || performance.now() >= drainDeadline) break;
    await pause(250, signal);
  }
  const caughtUp = indexed >= publish.published;
  if (caughtUp) {
    // Probes behind on their poll interval get one short moment to land before they are stopped.
    const settled = probe.settle();
    await Promise.race([settled, pause(2000, signal)]);
  }
  stopProbes();
  await probe.settle();
  await searching;
  reporting.abort();
  await reporter;
  await lag.close();
  const missing = await spotCheck(target.retrieval, publish.spot);
  if (publish.firstError) progress({ event: "publish error", first: publish.firstError });
  if (search.firstError) progress({ event: "search error", first: search.firstError });

  const publishWindowS = seconds(publish.lastAckAt - publish.startedAt);
  const indexWindowS = seconds(indexedAt - publish.startedAt);
  const [searchP50, searchP99] = search.latency.percentiles(50, 99);
  const [ackP50, ackP99] = publish.ackLatency.percentiles(50, 99);
  const [e2eP50, e2eP95] = probe.latency.percentiles(50, 95);
  const maxLag = lag.maxima;
  return [
    { metric: "offered_rate", value: o.rate, unit: "docs/s" },
    { metric: "offered_documents", value: publish.scheduled, unit: "docs" },
    {
      metric: "achieved_publish_rate",
      value: publishWindowS > 0 ? publish.published / publishWindowS : 0,
      unit: "docs/s",
    },
    { metric: "publish_ack_p50_ms", value: ackP50!, unit: "ms" },
    { metric: "publish_ack_p99_ms", value: ackP99!, unit: "ms" },
    { metric: "publish_errors", value: publish.errors, unit: "count" },
    { metric: "publish_shed", value: publish.shed, unit: "count" },
    { metric: "generator_max_late_ms", value: publish.maxLateMs, unit: "ms" },
    {
      metric: "indexed_rate",
      value: indexWindowS > 0 ? indexed / indexWindowS : 0,
      unit: "docs/s",
    },
    { metric: "search_offered_rate", value: o.searchRate, unit: "req/s" },
    { metric: "search_qps", value: search.qps, unit: "req/s" },
    { metric: "search_p50_ms", value: searchP50!, unit: "ms" },
    { metric: "search_p99_ms", value: searchP99!, unit: "ms" },
    { metric: "search_errors", value: search.errors + search.shed, unit: "count" },
    { metric: "max_lag_messages", value: maxLag.total, unit: "messages" },
    ...Object.entries(maxLag.byDurable).map(([durable, v]) => ({
      metric: `max_lag_${durable}_messages`,
      value: v,
      unit: "messages",
    })),
    { metric: "end_to_end_p50_ms", value: e2eP50!, unit: "ms" },
    { metric: "end_to_end_p95_ms", value: e2eP95!, unit: "ms" },
    { metric: "end_to_end_samples", value: probe.latency.count, unit: "docs" },
    { metric: "end_to_end_timeouts", value: probe.timedOut, unit: "docs" },
    { metric: "drain_s", value: seconds(indexedAt - loadEnd), unit: "s" },
    { metric: "published_documents", value: publish.published, unit: "docs" },
    { metric: "searchable_documents", value: indexed, unit: "docs" },
    { metric: "lost_documents", value: Math.max(0, publish.published - indexed), unit: "docs" },
    { metric: "spot_checked", value: publish.spot.length, unit: "docs" },
    { metric: "spot_check_missing", value: missing, unit: "docs" },
  ];
}

async function report(
  o: LoadtestOptions,
  publish: PublishLoad,
  search: SearchLoad,
  lag: LagMonitor,
  target: Target,
  tenants: readonly string[],
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  if (o.reportEveryS <= 0) return;
  const t0 = performance.now();
  let lastPublished = 0;
  let lastAt = t0;
  for (;;) {
    await pause(o.reportEveryS * 1000, signal);
    if (signal.aborted) return;
    const now = performance.now();
    // Read the counters before the Stats calls, which can take seconds on a loaded index.
    const published = publish.published;
    const searches = search.ok;
    const searchErrors = search.errors;
    const lagNow = lag.latest.byDurable;
    const indexed = await countIndexed(target.retrieval, tenants).catch(() => Number.NaN);
    progress({
      at_s: Number(seconds(now - t0).toFixed(1)),
      publish_rate: Number(((published - lastPublished) / seconds(now - lastAt)).toFixed(1)),
      published,
      indexed,
      lag: lagNow,
      searches,
      search_errors: searchErrors,
    });
    lastPublished = published;
    lastAt = now;
  }
}
