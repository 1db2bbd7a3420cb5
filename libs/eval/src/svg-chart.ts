import type { MetricName, Metrics } from "./trec-eval.js";

/** One point on the x axis: a version and its mean metrics. */
export interface ChartPoint {
  version: string;
  values: Partial<Metrics>;
}

export interface ChartOptions {
  /** Metrics drawn, one line each (default map, ndcg_cut_10, mrr_10, recall_100). */
  metrics?: readonly MetricName[];
  title?: string;
  width?: number;
  height?: number;
}

export const DEFAULT_CHART_METRICS: readonly MetricName[] = [
  "ndcg_cut_10",
  "map",
  "mrr_10",
  "recall_100",
];

// Colour-blind-safe (Okabe–Ito).
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

const MAX_LABEL = 24;

/**
 * Text as XML character data: markup characters escaped, and what XML 1.0 cannot hold even
 * escaped (most C0 controls, lone surrogates, U+FFFE/FFFF) replaced by U+FFFD.
 */
export function xmlText(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

function label(version: string): string {
  const chars = [...version];
  return chars.length <= MAX_LABEL ? version : `${chars.slice(0, MAX_LABEL - 1).join("")}…`;
}

const fmt = (x: number) => (Math.round(x * 100) / 100).toString();

/**
 * A line chart of each metric over versions (x: versions in the given order, y: metric value
 * from 0 to at least 1), as a standalone SVG document. Missing values leave a gap.
 */
export function renderMetricsChart(points: readonly ChartPoint[], opts: ChartOptions = {}): string {
  const metrics = opts.metrics ?? DEFAULT_CHART_METRICS;
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const m = { left: 48, right: 150, top: 36, bottom: 56 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  let yMax = 1;
  for (const p of points) {
    for (const k of metrics) {
      const v = p.values[k];
      if (v !== undefined && Number.isFinite(v)) yMax = Math.max(yMax, v);
    }
  }
  const x = (i: number) =>
    m.left + (points.length <= 1 ? plotW / 2 : (plotW * i) / (points.length - 1));
  const y = (v: number) => m.top + plotH - (plotH * Math.max(0, v)) / yMax;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${xmlText(opts.title ?? "Metrics over versions")}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="20" font-size="14" font-weight="bold">${xmlText(opts.title ?? "Metrics over versions")}</text>`,
  ];
  // Horizontal grid and y labels.
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4;
    const gy = fmt(y(v));
    out.push(
      `<line x1="${m.left}" y1="${gy}" x2="${m.left + plotW}" y2="${gy}" stroke="#dddddd"/>`,
      `<text x="${m.left - 6}" y="${gy}" text-anchor="end" dominant-baseline="middle">${v.toFixed(2)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="#333333"/>`,
  );
  points.forEach((p, i) => {
    out.push(
      `<text x="${fmt(x(i))}" y="${m.top + plotH + 18}" text-anchor="middle">${xmlText(label(p.version))}</text>`,
    );
  });
  metrics.forEach((metric, j) => {
    const colour = COLOURS[j % COLOURS.length]!;
    const segments: string[][] = [[]];
    points.forEach((p, i) => {
      const v = p.values[metric];
      if (v === undefined || !Number.isFinite(v)) {
        segments.push([]);
        return;
      }
      segments[segments.length - 1]!.push(`${fmt(x(i))},${fmt(y(v))}`);
      out.push(
        `<circle cx="${fmt(x(i))}" cy="${fmt(y(v))}" r="3" fill="${colour}"><title>${xmlText(`${metric} ${label(p.version)}: ${v.toFixed(4)}`)}</title></circle>`,
      );
    });
    for (const s of segments) {
      if (s.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${s.join(" ")}"/>`,
        );
      }
    }
    const ly = m.top + 10 + j * 18;
    out.push(
      `<line x1="${width - m.right + 12}" y1="${ly}" x2="${width - m.right + 32}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${width - m.right + 38}" y="${ly}" dominant-baseline="middle">${xmlText(metric)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
