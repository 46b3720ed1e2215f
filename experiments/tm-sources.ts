/**
 * Traffic-matrix sources an experiment config can name (`workload.tm.kind`), each turning its config section into
 * a {@link TrafficMatrixSeries} covering at least the requested window (TM time, ns from the series' start).
 *
 * Extension point: a new kind adds a variant to `TmSchema` in config/schema.ts and an entry here.
 */
import { readdirSync } from "node:fs";
import { readCsvTmSeries } from "../models/workload/csv-tm-series.ts";
import { gravitySeries } from "../models/workload/gravity-tm.ts";
import { readSndlibTmSeries } from "../models/workload/sndlib-tm-series.ts";
import { formatStamp, stampMinutes } from "../models/workload/time-labels.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { formatRate, parseDurationNs, parseRateBps } from "../sim/units.ts";
import type { ExperimentConfig } from "./config/schema.ts";

type TmConfig = ExperimentConfig["workload"]["tm"];

export interface TmLoadContext {
  topology: Topology;
  /** The window to cover, TM time, ns: [startNs, endNs). */
  startNs: number;
  endNs: number;
  /** Seed and run, for synthetic sources (their own streams, never shared with the flow arrivals). */
  seed: number;
  run: number;
}

/** Thrown when a source is named that this build cannot load; the scenario builder locates it in the config. */
export class TmSourceUnavailable extends Error {}

const MINUTE_NS = 60e9;

/** Loads the series for `tm`; for file-backed kinds only the intervals overlapping the window are read. */
export function loadTrafficMatrix(tm: TmConfig, ctx: TmLoadContext): TrafficMatrixSeries {
  switch (tm.kind) {
    case "uniform":
      return uniformSeries(ctx.topology, parseRateBps(tm.rate), ctx.endNs);
    case "sndlib":
      return sndlibWindow(tm.dir, ctx.startNs, ctx.endNs);
    case "gravity": {
      const intervalNs = parseDurationNs(tm.interval);
      return gravitySeries({
        nodes: ctx.topology.nodes.map((x) => x.id),
        intervals: Math.max(1, Math.ceil(ctx.endNs / intervalNs)),
        totalBps: parseRateBps(tm.total),
        streams: new RandomStreams(ctx.seed, ctx.run),
        intervalNs,
        start: tm.start,
        diurnalAmplitude: tm.diurnalAmplitude,
        peakHour: tm.peakHour,
        weekendFactor: tm.weekendFactor,
        noiseSigma: tm.noiseSigma,
        sharedMasses: tm.sharedMasses,
      });
    }
    case "csv":
      return readCsvTmSeries(
        tm.file,
        tm.interval === undefined ? {} : { intervalS: parseDurationNs(tm.interval) / 1e9 },
      );
  }
}

/** One interval [0, lengthNs) with `rateBps` between every ordered pair of distinct topology nodes. */
function uniformSeries(topo: Topology, rateBps: number, lengthNs: number): TrafficMatrixSeries {
  const n = topo.nodeCount;
  const row = new Float64Array(n * n);
  for (let s = 0; s < n; s++) for (let d = 0; d < n; d++) if (s !== d) row[s * n + d] = rateBps;
  return {
    source: `uniform TM (${formatRate(rateBps)} per pair)`,
    nodes: topo.nodes.map((x) => x.id),
    intervalNs: Math.max(1, lengthNs),
    startNs: Float64Array.of(0),
    labels: undefined,
    rates: [row],
  };
}

/**
 * The SNDlib intervals overlapping [startNs, endNs) after the first file's stamp. The series' time 0 stays the
 * first file of the directory (startNs of the returned intervals are shifted accordingly).
 */
function sndlibWindow(dir: string, startNs: number, endNs: number): TrafficMatrixSeries {
  let first: number | undefined;
  try {
    for (const name of readdirSync(dir)) {
      const m = /-(\d{8}-\d{4})\.xml$/.exec(name);
      const minutes = name.startsWith("demandMatrix-") && m ? stampMinutes(m[1]!) : undefined;
      if (minutes !== undefined && (first === undefined || minutes < first)) first = minutes;
    }
  } catch {
    // readSndlibTmSeries reports the unreadable directory precisely
  }
  if (first === undefined) return readSndlibTmSeries(dir);
  const probe = readSndlibTmSeries(dir, { from: formatStamp(first), until: formatStamp(first + 1) });
  const intervalMin = probe.intervalNs / MINUTE_NS;
  const fromIdx = Math.floor(startNs / probe.intervalNs);
  const untilIdx = Math.ceil(endNs / probe.intervalNs);
  const s = readSndlibTmSeries(dir, {
    from: formatStamp(first + fromIdx * intervalMin),
    until: formatStamp(first + untilIdx * intervalMin),
  });
  const shift = fromIdx * s.intervalNs;
  return { ...s, startNs: s.startNs.map((t) => t + shift) };
}
