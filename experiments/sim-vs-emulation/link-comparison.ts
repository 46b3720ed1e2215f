import { percentileNearestRank } from "../../sim/metrics/flow-stats.ts";
import { egressCostOfRows } from "../egress-cost.ts";
import type { Rows } from "../summary-table.ts";

/**
 * Link utilization of one policy in both runs over the same window of simulated time (from links.csv): the MLU
 * series' mean and 95th percentile (nearest rank), and how far apart the links' mean utilizations are. The
 * emulation counts frames (headers and the reverse direction's ACKs included), the simulation payload only, so a
 * few percent more in the emulation is expected.
 */
export interface SimEmuLinkRow {
  policy: string;
  /** Sampling intervals compared (ending at or before the window's end), per run. */
  simIntervals: number;
  emuIntervals: number;
  simMeanMlu: number | null;
  emuMeanMlu: number | null;
  simP95Mlu: number | null;
  emuP95Mlu: number | null;
  /** Mean over links of |mean utilization in emu - in sim|. */
  meanAbsUtilizationDiff: number | null;
  /** The link where that difference is largest, and the difference (emu - sim). */
  worstLink: string | null;
  worstLinkDiff: number | null;
  /**
   * Bytes over the links with an egress cost and their cost in each run (experiments/egress-cost.ts), over the same
   * intervals; absent when no link has a cost.
   */
  egress?: { simBytes: number; emuBytes: number; simCost: number; emuCost: number };
}

/** Per-interval link utilization rows of a links.csv, by policy. */
interface LinkSeries {
  /** interval end ns -> link id -> utilization */
  intervals: Map<number, Map<string, number>>;
}

function linkSeries(rows: readonly Record<string, string>[], untilNs: number): Map<string, LinkSeries> {
  const out = new Map<string, LinkSeries>();
  for (const r of rows) {
    const policy = r.policy ?? "";
    let s = out.get(policy);
    if (!s) {
      s = { intervals: new Map() };
      out.set(policy, s);
    }
    const end = Number(r.interval_end_ns);
    const u = Number(r.utilization);
    if (!(end <= untilNs) || !Number.isFinite(u)) continue;
    let m = s.intervals.get(end);
    if (!m) {
      m = new Map();
      s.intervals.set(end, m);
    }
    m.set(r.link ?? "", u);
  }
  return out;
}

function mluStats(s: LinkSeries | undefined): { n: number; mean: number | null; p95: number | null } {
  if (!s || s.intervals.size === 0) return { n: 0, mean: null, p95: null };
  const mlu = Float64Array.from([...s.intervals.values()].map((m) => Math.max(0, ...m.values())));
  const mean = mlu.reduce((a, b) => a + b, 0) / mlu.length;
  mlu.sort();
  return { n: mlu.length, mean, p95: percentileNearestRank(mlu, 95) };
}

function meanByLink(s: LinkSeries | undefined): Map<string, number> {
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  for (const m of s?.intervals.values() ?? []) {
    for (const [link, u] of m) {
      sum.set(link, (sum.get(link) ?? 0) + u);
      count.set(link, (count.get(link) ?? 0) + 1);
    }
  }
  return new Map([...sum].map(([l, x]) => [l, x / count.get(l)!]));
}

/**
 * Compares link utilization of the policies in both runs over simulated time [0, untilNs] (intervals that end by
 * then), from links.csv rows (`policy,interval_start_ns,interval_end_ns,link,src,dst,capacity_bps,bits,utilization`).
 * Policies in the emulation's order.
 */
export function compareLinks(
  simRows: readonly Record<string, string>[],
  emuRows: readonly Record<string, string>[],
  untilNs: number,
  egressPerGB: ReadonlyMap<string, number> = new Map(),
): SimEmuLinkRow[] {
  const sim = linkSeries(simRows, untilNs);
  const emu = linkSeries(emuRows, untilNs);
  const out: SimEmuLinkRow[] = [];
  for (const policy of emu.keys()) {
    if (!sim.has(policy)) continue;
    const a = mluStats(sim.get(policy));
    const b = mluStats(emu.get(policy));
    const ua = meanByLink(sim.get(policy));
    const ub = meanByLink(emu.get(policy));
    let total = 0;
    let n = 0;
    let worst: string | null = null;
    let worstDiff: number | null = null;
    for (const [link, u] of [...ua].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
      const v = ub.get(link);
      if (v === undefined) continue;
      const d = v - u;
      total += Math.abs(d);
      n++;
      if (worstDiff === null || Math.abs(d) > Math.abs(worstDiff)) {
        worst = link;
        worstDiff = d;
      }
    }
    out.push({
      policy,
      simIntervals: a.n,
      emuIntervals: b.n,
      simMeanMlu: a.mean,
      emuMeanMlu: b.mean,
      simP95Mlu: a.p95,
      emuP95Mlu: b.p95,
      meanAbsUtilizationDiff: n > 0 ? total / n : null,
      worstLink: worst,
      worstLinkDiff: worstDiff,
      ...egressSideBySide(simRows, emuRows, policy, egressPerGB, untilNs),
    });
  }
  return out;
}

/** Both runs' egress cost of `policy` (from their links.csv rows), when some link has a cost. */
function egressSideBySide(
  simRows: readonly Record<string, string>[],
  emuRows: readonly Record<string, string>[],
  policy: string,
  perGB: ReadonlyMap<string, number>,
  untilNs: number,
): Pick<SimEmuLinkRow, "egress"> {
  if (perGB.size === 0) return {};
  const of = (rows: readonly Record<string, string>[]) =>
    egressCostOfRows(
      rows.filter((r) => r.policy === policy),
      perGB,
      untilNs,
    );
  const [sim, emu] = [of(simRows), of(emuRows)];
  if (!sim || !emu) return {};
  return { egress: { simBytes: sim.bytes, emuBytes: emu.bytes, simCost: sim.cost, emuCost: emu.cost } };
}

/** The link comparison as table rows. */
export function linkComparisonRows(links: readonly SimEmuLinkRow[]): Rows {
  const egress = links.some((l) => l.egress !== undefined);
  const num = (x: number | null) => (x === null ? "-" : x.toFixed(3));
  return {
    head: [
      "policy",
      "intervals sim / emu",
      "mean MLU sim / emu",
      "p95 MLU sim / emu",
      "mean |util diff|",
      "worst link (emu - sim)",
      ...(egress ? ["egress MB sim / emu", "egress cost sim / emu"] : []),
    ],
    rows: links.map((l) => [
      l.policy,
      `${l.simIntervals} / ${l.emuIntervals}`,
      `${num(l.simMeanMlu)} / ${num(l.emuMeanMlu)}`,
      `${num(l.simP95Mlu)} / ${num(l.emuP95Mlu)}`,
      num(l.meanAbsUtilizationDiff),
      l.worstLink === null
        ? "-"
        : `${l.worstLink} (${l.worstLinkDiff! >= 0 ? "+" : ""}${num(l.worstLinkDiff)})`,
      ...(egress
        ? l.egress
          ? [
              `${(l.egress.simBytes / 1e6).toFixed(1)} / ${(l.egress.emuBytes / 1e6).toFixed(1)}`,
              `${l.egress.simCost.toFixed(6)} / ${l.egress.emuCost.toFixed(6)}`,
            ]
          : ["-", "-"]
        : []),
    ]),
  };
}
