/**
 * Vega-lite specs of the run report, as pure functions of plain data (rendered by render.ts). Every axis names
 * its quantity and unit; log axes say so in the title.
 */
import type { TopLevelSpec } from "vega-lite";

const WIDTH = 560;
const HEIGHT = 300;

const CONFIG = {
  font: "DejaVu Sans",
  axis: { labelFontSize: 12, titleFontSize: 13, titlePadding: 8, grid: true, gridOpacity: 0.5 },
  legend: {
    labelFontSize: 12,
    titleFontSize: 12,
    orient: "bottom" as const,
    direction: "horizontal" as const,
    // Wrap long policy lists instead of stretching the figure.
    columns: 4,
  },
  title: { fontSize: 15, anchor: "start" as const, offset: 10 },
  view: { stroke: "#999" },
};

/** One point of an empirical CDF: P(X <= value) = fraction. */
export interface CdfPoint {
  policy: string;
  value: number;
  fraction: number;
}

/**
 * At most `points` points of the empirical CDF of `values` (sorted ascending in place): the values at evenly
 * spaced ranks, always including the minimum and the maximum, each with its fraction rank / n.
 */
export function cdfPoints(policy: string, values: Float64Array, points = 300): CdfPoint[] {
  values.sort();
  const n = values.length;
  if (n === 0) return [];
  const m = Math.min(n, points);
  const out: CdfPoint[] = [];
  for (let k = 0; k < m; k++) {
    const i = m === 1 ? n - 1 : Math.round((k * (n - 1)) / (m - 1));
    out.push({ policy, value: values[i]!, fraction: (i + 1) / n });
  }
  return out;
}

export function cdfSpec(title: string, xTitle: string, data: CdfPoint[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: data },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
    encoding: {
      x: { field: "value", type: "quantitative", scale: { type: "log" }, title: xTitle },
      y: {
        field: "fraction",
        type: "quantitative",
        scale: { domain: [0, 1] },
        title: "Fraction of flows (CDF)",
      },
      color: { field: "policy", type: "nominal", title: "Policy" },
    },
  };
}

export interface BucketBar {
  policy: string;
  bucket: string;
  /** Sort key of the bucket (its lower edge). */
  order: number;
  statistic: string;
  slowdown: number;
  flows: number;
}

export function slowdownBySizeSpec(data: BucketBar[]): TopLevelSpec {
  const buckets = [...new Map(data.map((d) => [d.bucket, d.order])).entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([b]) => b);
  const x = {
    field: "bucket",
    type: "ordinal" as const,
    sort: buckets,
    title: "Flow size",
    axis: { labelAngle: 0 },
  };
  const xOffset = { field: "policy", type: "nominal" as const };
  const y = {
    field: "slowdown",
    type: "quantitative" as const,
    scale: { type: "log" as const, domain: [1, Math.max(2, ...data.map((d) => d.slowdown)) * 1.15] },
    title: "Slowdown (FCT / ideal FCT, log scale)",
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Slowdown by flow size", subtitle: "bars: 99th percentile; black ticks: median" },
    width: WIDTH,
    height: HEIGHT,
    config: { ...CONFIG, title: { ...CONFIG.title, subtitleFontSize: 12 } },
    data: { values: data },
    layer: [
      {
        transform: [{ filter: "datum.statistic === 'p99'" }],
        mark: { type: "bar" },
        encoding: {
          x,
          xOffset,
          y,
          y2: { datum: 1 },
          color: { field: "policy", type: "nominal", title: "Policy" },
          tooltip: [{ field: "policy" }, { field: "bucket" }, { field: "slowdown" }, { field: "flows" }],
        },
      },
      {
        transform: [{ filter: "datum.statistic === 'p50'" }],
        mark: { type: "tick", color: "black", thickness: 2 },
        encoding: { x, xOffset, y },
      },
    ],
  };
}

export interface MluPoint {
  policy: string;
  timeS: number;
  mlu: number;
}

export function mluSpec(data: MluPoint[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Max link utilization over time",
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: data },
    mark: { type: "line", strokeWidth: 1.5, interpolate: "step-before" },
    encoding: {
      x: { field: "timeS", type: "quantitative", title: "Simulated time (s, end of sampling interval)" },
      y: { field: "mlu", type: "quantitative", title: "MLU (busiest link's utilization, 0-1)" },
      color: { field: "policy", type: "nominal", title: "Policy" },
    },
  };
}

export interface OverheadBar {
  policy: string;
  actions: number;
}

export function overheadSpec(data: OverheadBar[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Control overhead",
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: data },
    mark: "bar",
    encoding: {
      x: { field: "policy", type: "nominal", title: "Policy", axis: { labelAngle: 0 } },
      y: { field: "actions", type: "quantitative", title: "Control actions (count)" },
      color: { field: "policy", type: "nominal", legend: null },
    },
  };
}

export interface SweepPoint {
  policy: string;
  x: number | string;
  value: number;
}

export function sweepSpec(title: string, xTitle: string, yTitle: string, data: SweepPoint[]): TopLevelSpec {
  const numeric = data.every((d) => typeof d.x === "number");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: data },
    mark: { type: "line", point: true, strokeWidth: 2 },
    encoding: {
      x: { field: "x", type: numeric ? "quantitative" : "ordinal", title: xTitle },
      y: { field: "value", type: "quantitative", title: yTitle },
      color: { field: "policy", type: "nominal", title: "Policy" },
    },
  };
}
