/**
 * The intent mesh's requests in both engines, one by one: the emulation's requests.csv against the simulator's
 * beside it (experiments/intent-satisfaction.ts writes both; the same flows, joined by policy and flow id). Per
 * policy and client: which misses only one engine has, and whether the request took the same path in both (same
 * path: the engines measured the path differently; another path: the policy chose differently), and on the same
 * path the median difference of latency per one-way trip (emulated - simulated, ns) and ratio of throughput
 * (emulated / simulated). Written as sim-vs-emulation-requests.csv.
 */
import { csvField, formatCsvNumber } from "../csv.ts";
import { readCsv } from "../results.ts";

/** One policy's client in the comparison (a row of sim-vs-emulation-requests.csv). */
export interface RequestComparison {
  policy: string;
  client: string;
  anycast: string;
  /** Requests in both files. */
  requests: number;
  /** Requests missing their intent in the simulator, in the emulator. */
  simMissed: number;
  emuMissed: number;
  /** Missed only in the emulator: on the path the simulator used, on another path; and the converse. */
  emuOnlySamePath: number;
  emuOnlyOtherPath: number;
  simOnlySamePath: number;
  simOnlyOtherPath: number;
  /** Requests on the same path in both engines, and over those: median latency difference (ns), median throughput ratio. */
  samePath: number;
  medianLatencyDiffNs: number | null;
  medianThroughputRatio: number | null;
}

function median(v: number[]): number | null {
  if (v.length === 0) return null;
  v.sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)]!;
}

/**
 * Compares the requests of two requests.csv files (simulator, emulator), per policy and client, in the emulator
 * file's order. Requests in only one file (unfinished ones have empty measurements) are left out.
 * @throws ResultsError (readCsv) when a file is missing or malformed.
 */
export function compareRequests(simCsv: string, emuCsv: string): RequestComparison[] {
  const sim = new Map(readCsv(simCsv).map((r) => [`${r.policy}\n${r.flow}`, r]));
  const out = new Map<string, RequestComparison & { lat: number[]; thr: number[] }>();
  for (const e of readCsv(emuCsv)) {
    const s = sim.get(`${e.policy}\n${e.flow}`);
    if (!s || e.fct_ns === "" || s.fct_ns === "") continue;
    const key = `${e.policy}\n${e.client}\n${e.anycast}`;
    let c = out.get(key);
    if (!c) {
      c = {
        policy: e.policy!,
        client: e.client!,
        anycast: e.anycast!,
        requests: 0,
        simMissed: 0,
        emuMissed: 0,
        emuOnlySamePath: 0,
        emuOnlyOtherPath: 0,
        simOnlySamePath: 0,
        simOnlyOtherPath: 0,
        samePath: 0,
        medianLatencyDiffNs: null,
        medianThroughputRatio: null,
        lat: [],
        thr: [],
      };
      out.set(key, c);
    }
    const same = e.path === s.path;
    const emuMiss = e.misses !== "";
    const simMiss = s.misses !== "";
    c.requests++;
    if (simMiss) c.simMissed++;
    if (emuMiss) c.emuMissed++;
    if (emuMiss && !simMiss) same ? c.emuOnlySamePath++ : c.emuOnlyOtherPath++;
    if (simMiss && !emuMiss) same ? c.simOnlySamePath++ : c.simOnlyOtherPath++;
    if (same) {
      c.samePath++;
      c.lat.push(Number(e.latency_ns) - Number(s.latency_ns));
      c.thr.push(Number(e.throughput_bps) / Number(s.throughput_bps));
    }
  }
  return [...out.values()].map(({ lat, thr, ...c }) => ({
    ...c,
    medianLatencyDiffNs: median(lat),
    medianThroughputRatio: median(thr),
  }));
}

/** sim-vs-emulation-requests.csv of {@link compareRequests}'s rows. */
export function requestComparisonCsv(rows: readonly RequestComparison[]): string {
  const cols = [
    "policy",
    "client",
    "anycast",
    "requests",
    "sim_missed",
    "emu_missed",
    "emu_only_same_path",
    "emu_only_other_path",
    "sim_only_same_path",
    "sim_only_other_path",
    "same_path",
    "median_latency_diff_ns",
    "median_throughput_ratio",
  ];
  const num = (x: number | null) => (x === null ? "" : formatCsvNumber(x));
  const lines = rows.map((r) =>
    [
      csvField(r.policy),
      csvField(r.client),
      csvField(r.anycast),
      r.requests,
      r.simMissed,
      r.emuMissed,
      r.emuOnlySamePath,
      r.emuOnlyOtherPath,
      r.simOnlySamePath,
      r.simOnlyOtherPath,
      r.samePath,
      num(r.medianLatencyDiffNs),
      num(r.medianThroughputRatio),
    ].join(","),
  );
  return `${[cols.join(","), ...lines].join("\n")}\n`;
}
