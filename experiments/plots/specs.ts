/**
 * Vega-lite specs of the run report, as pure functions of plain data (rendered by render.ts). Every axis names
 * its quantity and unit; log axes say so in the title.
 *
 * Readable with many policies: up to {@link MAX_OVERLAID_POLICIES} policies share one panel (a colour each); with
 * more, lines become small multiples (one panel per policy, in config order, over the first policy in grey for
 * reference) and bars become horizontal with the policy names on the axis, so no legend has to be matched by colour.
 */
import type { TopLevelSpec } from "vega-lite";
import type { PositionDef } from "vega-lite/types_unstable/channeldef.js";
import type { MarkDef } from "vega-lite/types_unstable/mark.js";

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

/** Most policies drawn in one panel; above this, one panel per policy. */
export const MAX_OVERLAID_POLICIES = 4;

/** Panel size of small multiples, in two columns: about the width of one single-panel plot. */
const PANEL_WIDTH = 260;
const PANEL_COLUMNS = 2;
/** Small multiples draw each panel's policy in one colour (the header names it) over the reference in grey. */
const PANEL_INK = "#1f4e99";
const REFERENCE_GREY = "#bdbdbd";
/** Axis labels that are policy names are never cut short. */
const POLICY_LABEL_LIMIT = 260;

/** Policies in order of first appearance in `data` (the report adds them in config order). */
function policiesOf(data: readonly { policy: string }[]): string[] {
  return [...new Set(data.map((d) => d.policy))];
}

/**
 * Rows for small multiples: every row of policy p in panel p (role "policy"), and the first policy's rows in every
 * other panel too (role "reference"), drawn in grey behind.
 */
function panelRows<T extends { policy: string }>(
  data: readonly T[],
  policies: readonly string[],
): (T & { panel: string; role: "policy" | "reference" })[] {
  const reference = policies[0];
  const out: (T & { panel: string; role: "policy" | "reference" })[] = [];
  for (const panel of policies) {
    for (const d of data) {
      if (d.policy === panel) out.push({ ...d, panel, role: "policy" });
      else if (d.policy === reference) out.push({ ...d, panel, role: "reference" });
    }
  }
  return out;
}

type Position = PositionDef<string>;

/** A y-axis title longer than this does not fit beside a panel; small multiples then give it in the subtitle. */
const PANEL_Y_TITLE_MAX = 24;

/**
 * One line panel per policy, two columns, shared axes: the policy's line in dark blue over the first policy's in
 * grey. `mark` is the line mark of both layers; `y` comes without a title, `yTitle` gives it.
 */
function smallMultiples(
  title: string,
  data: readonly { policy: string }[],
  mark: MarkDef,
  x: Position,
  y: Position,
  yTitle: string,
  height: number,
): TopLevelSpec {
  const policies = policiesOf(data);
  const short = yTitle.length <= PANEL_Y_TITLE_MAX;
  const axisY = { ...y, title: short ? yTitle : null };
  const inked = (color: string): MarkDef => ({ ...mark, color, ...(mark.point ? { point: { color } } : {}) });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: [
        ...(short ? [] : [`y: ${yTitle}`]),
        `one panel per policy; grey: ${policies[0]} (the first policy), for reference`,
      ],
    },
    config: { ...CONFIG, title: { ...CONFIG.title, subtitleFontSize: 12 } },
    data: { values: panelRows(data, policies) },
    columns: PANEL_COLUMNS,
    facet: {
      field: "panel",
      type: "nominal",
      sort: policies,
      title: null,
      header: { labelFontSize: 13, labelFontWeight: "bold" },
    },
    spec: {
      width: PANEL_WIDTH,
      height,
      layer: [
        {
          transform: [{ filter: "datum.role === 'reference'" }],
          mark: inked(REFERENCE_GREY),
          encoding: { x, y: axisY },
        },
        {
          transform: [{ filter: "datum.role === 'policy'" }],
          mark: inked(PANEL_INK),
          encoding: { x, y: axisY },
        },
      ],
    },
  };
}

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

/** Empirical CDFs of `data`, one line per policy (small multiples above {@link MAX_OVERLAID_POLICIES}). */
export function cdfSpec(title: string, xTitle: string, data: CdfPoint[]): TopLevelSpec {
  if (policiesOf(data).length > MAX_OVERLAID_POLICIES) {
    return smallMultiples(
      title,
      data,
      { type: "line", interpolate: "step-after", strokeWidth: 2 },
      { field: "value", type: "quantitative", scale: { type: "log", nice: false }, title: xTitle },
      { field: "fraction", type: "quantitative", scale: { domain: [0, 1] } },
      "Fraction of flows",
      120,
    );
  }
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

/**
 * Per flow-size bucket, each policy's p99 slowdown (bar from 1) and median (black tick), on a log axis: bars grouped
 * by bucket, or, above {@link MAX_OVERLAID_POLICIES} policies, one column per bucket with the policies as rows.
 */
export function slowdownBySizeSpec(data: BucketBar[]): TopLevelSpec {
  const buckets = [...new Map(data.map((d) => [d.bucket, d.order])).entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([b]) => b);
  if (policiesOf(data).length > MAX_OVERLAID_POLICIES) return slowdownBySizeRows(data, buckets);
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
    title: SLOWDOWN_TITLE,
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

const SLOWDOWN_TITLE = {
  text: "Slowdown by flow size",
  subtitle: "bars: 99th percentile; black ticks: median",
};

/** Slowdown by size for many policies: a column per bucket, a row per policy (names on the axis, no legend). */
function slowdownBySizeRows(data: BucketBar[], buckets: string[]): TopLevelSpec {
  const policies = policiesOf(data);
  const y = {
    field: "policy",
    type: "nominal" as const,
    sort: policies,
    title: null,
    axis: { labelLimit: POLICY_LABEL_LIMIT },
  };
  const x = {
    field: "slowdown",
    type: "quantitative" as const,
    scale: { type: "log" as const, domain: [1, Math.max(2, ...data.map((d) => d.slowdown)) * 1.15] },
    axis: { tickCount: 3 },
    title: null,
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: SLOWDOWN_TITLE.text,
      subtitle: "slowdown = FCT / ideal FCT, log scale; bars: 99th percentile; black ticks: median",
    },
    config: { ...CONFIG, title: { ...CONFIG.title, subtitleFontSize: 12 } },
    data: { values: data },
    facet: {
      column: {
        field: "bucket",
        type: "ordinal",
        sort: buckets,
        title: "Flow size",
        header: { labelFontSize: 12, titleFontSize: 13 },
      },
    },
    spec: {
      width: 95,
      height: { step: 18 },
      layer: [
        {
          transform: [{ filter: "datum.statistic === 'p99'" }],
          mark: { type: "bar" },
          encoding: {
            y,
            x,
            x2: { datum: 1 },
            color: { field: "policy", type: "nominal", scale: { domain: policies }, legend: null },
            tooltip: [{ field: "policy" }, { field: "bucket" }, { field: "slowdown" }, { field: "flows" }],
          },
        },
        {
          transform: [{ filter: "datum.statistic === 'p50'" }],
          mark: { type: "tick", color: "black", thickness: 2 },
          encoding: { y, x },
        },
      ],
    },
  };
}

export interface MluPoint {
  policy: string;
  timeS: number;
  mlu: number;
}

/** MLU per sampling interval, one step line per policy (small multiples above {@link MAX_OVERLAID_POLICIES}). */
export function mluSpec(data: MluPoint[]): TopLevelSpec {
  if (policiesOf(data).length > MAX_OVERLAID_POLICIES) {
    return smallMultiples(
      "Max link utilization over time",
      data,
      { type: "line", strokeWidth: 1.5, interpolate: "step-before" },
      { field: "timeS", type: "quantitative", title: "Simulated time (s)" },
      { field: "mlu", type: "quantitative" },
      "MLU (0-1)",
      90,
    );
  }
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

/** Control actions per policy: vertical bars, or horizontal ones above {@link MAX_OVERLAID_POLICIES} policies. */
export function overheadSpec(data: OverheadBar[]): TopLevelSpec {
  if (data.length > MAX_OVERLAID_POLICIES) {
    const policies = data.map((d) => d.policy);
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "Control overhead",
      width: WIDTH,
      height: { step: 22 },
      config: CONFIG,
      data: { values: data },
      mark: "bar",
      encoding: {
        y: {
          field: "policy",
          type: "nominal",
          sort: policies,
          title: null,
          axis: { labelLimit: POLICY_LABEL_LIMIT },
        },
        x: { field: "actions", type: "quantitative", title: "Control actions (count)" },
        color: { field: "policy", type: "nominal", scale: { domain: policies }, legend: null },
      },
    };
  }
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

/** A metric against a swept parameter, one line per policy (small multiples above {@link MAX_OVERLAID_POLICIES}). */
export function sweepSpec(title: string, xTitle: string, yTitle: string, data: SweepPoint[]): TopLevelSpec {
  const numeric = data.every((d) => typeof d.x === "number");
  if (policiesOf(data).length > MAX_OVERLAID_POLICIES) {
    return smallMultiples(
      title,
      data,
      { type: "line", point: true, strokeWidth: 2 },
      { field: "x", type: numeric ? "quantitative" : "ordinal", title: xTitle },
      { field: "value", type: "quantitative" },
      yTitle,
      120,
    );
  }
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
