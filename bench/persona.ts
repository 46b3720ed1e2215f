/**
 * Cost of personas (issue 14 targets): learning the personas of four applications from a simulated day's flow
 * records (< 30 s), and one repository lookup (< 5 ms).
 *
 * Learning: the applications of experiments/configs/persona-learn.yaml (game, trading with its ledger, stream, ml
 * with its store: six personas) over 24 h of flow records with a diurnal request rate (0.25 .. 1 x the peak, lowest
 * at 04:00), generated from seeded streams into columns before the clock starts (simulating a whole day would
 * time the simulator, not learning), then read as FlowRow-like objects one at a time, as RunRecords.flows yields
 * them. Timed: learnPersonas alone, over the day window in 1 s bins.
 *
 * Lookup: a repository file with 50 versions of each of the six personas; `latest(app)` and `get(app, version)`
 * timed per call (wall ms, median and p95 of 2,000 calls each), documents parsed and validated as on every read.
 * The load average is recorded: the machine is shared.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../experiments/config/load.ts";
import { PersonaRepository } from "../experiments/personas/repository.ts";
import { buildScenario } from "../experiments/scenario.ts";
import { type LearnFlow, learnPersonas } from "../models/personas/learn.ts";
import { type AppWorkloadSpec, applicationPairs } from "../models/workload/applications.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { latencySummary } from "./latency-summary.ts";
import type { BenchResult } from "./run.ts";

const DAY_NS = 86_400e9;
/** Peak requests per second of each entry in the bench day (scaled down from the config to keep the day ~2M flows). */
const PEAK_RATE: Record<string, number> = { game: 20, trading: 6, stream: 0.5, ml: 1 / 60 };

interface Columns {
  src: Int32Array;
  dst: Int32Array;
  size: Float64Array;
  start: Float64Array;
  end: Float64Array;
  tag: Int32Array;
  count: number;
}

/** Diurnal factor in [0.25, 1], lowest at 04:00, highest at 16:00. */
function diurnal(tNs: number): number {
  const h = (tNs % DAY_NS) / 3_600e9;
  return 0.625 - 0.375 * Math.cos(((h - 4) / 24) * 2 * Math.PI);
}

/** One day of request/response flows of the spec's entries and calls (sizes as in the spec, 1 Gbit/s transfers). */
function dayOfFlows(spec: AppWorkloadSpec, topo: Topology): Columns {
  const cap = 6_000_000;
  const c: Columns = {
    src: new Int32Array(cap),
    dst: new Int32Array(cap),
    size: new Float64Array(cap),
    start: new Float64Array(cap),
    end: new Float64Array(cap),
    tag: new Int32Array(cap),
    count: 0,
  };
  const pairs = applicationPairs(spec);
  const base = topo.nodeCount * topo.nodeCount;
  const instances = new Map(spec.apps.map((a) => [a.name, a.instances.map((id) => topo.node(id))]));
  const push = (a: number, b: number, bytes: number, t: number, pair: string) => {
    if (c.count === cap) throw new Error(`bench day over ${cap} flows: lower PEAK_RATE`);
    const i = c.count++;
    c.src[i] = a;
    c.dst[i] = b;
    c.size[i] = bytes;
    c.start[i] = t;
    c.end[i] = t + Math.ceil(bytes * 8) + 1e6;
    c.tag[i] = base + pairs.indexOf(pair);
    return c.end[i]!;
  };
  const streams = new RandomStreams(1);
  for (const e of spec.entries) {
    const rng = streams.stream(`bench/persona/${e.app}`);
    const servers = instances.get(e.app)!;
    const clients = (e.clients ?? []).map((id) => topo.node(id));
    for (let t = rng.exponential(1e9 / PEAK_RATE[e.app]!); t < DAY_NS; ) {
      const server = servers[rng.int(servers.length)]!;
      const client = clients.length > 0 ? clients[rng.int(clients.length)]! : -1;
      let at = t;
      if (client >= 0) at = push(client, server, e.requestBytes as number, t, `client->${e.app}`);
      for (const call of spec.calls.filter((k) => k.from === e.app)) {
        const callee = instances.get(call.to)![0]!;
        for (let k = 0; k < (call.count ?? 1); k++) {
          const back = push(server, callee, call.requestBytes as number, at, `${call.from}->${call.to}`);
          push(callee, server, call.responseBytes as number, back, `${call.to}->${call.from}`);
        }
      }
      if (client >= 0) push(server, client, e.responseBytes as number, at, `${e.app}->client`);
      t += rng.exponential(1e9 / (PEAK_RATE[e.app]! * diurnal(t)));
    }
  }
  return c;
}

function* rows(c: Columns): Generator<LearnFlow> {
  for (let i = 0; i < c.count; i++) {
    yield {
      src: c.src[i]!,
      dst: c.dst[i]!,
      sizeBytes: c.size[i]!,
      startNs: c.start[i]!,
      endNs: c.end[i]!,
      tag: c.tag[i]!,
    };
  }
}

export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg()[0]!;
  const { scenario } = buildScenario(
    loadConfig(join(import.meta.dirname ?? ".", "../experiments/configs/persona-learn.yaml")),
    0,
  );
  const spec = scenario.applications!;
  const flows = dayOfFlows(spec, scenario.topology);
  const t0 = performance.now();
  const personas = learnPersonas(
    { flows: rows(flows), applications: spec, topology: scenario.topology },
    {
      window: { startNs: 0, endNs: DAY_NS },
      binNs: 1e9,
      provenance: { engine: "sim", run: "bench/persona.ts", learnedAt: "seed 1" },
    },
  );
  const learnMs = performance.now() - t0;

  const dir = mkdtempSync(join(tmpdir(), "topocast-bench-persona-"));
  const lookups = { latest: [] as number[], byVersion: [] as number[] };
  try {
    const repo = new PersonaRepository(join(dir, "personas.db"));
    for (let v = 0; v < 50; v++) for (const p of personas) repo.store(p);
    const apps = personas.map((p) => p.application.name);
    for (let i = 0; i < 2_000; i++) {
      const app = apps[i % apps.length]!;
      let t = performance.now();
      repo.latest(app);
      lookups.latest.push(performance.now() - t);
      t = performance.now();
      repo.get(app, 1 + (i % 50));
      lookups.byVersion.push(performance.now() - t);
    }
    repo.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const latest = latencySummary(lookups.latest, 3);
  return {
    workload: `4 applications (${personas.length} personas) of persona-learn.yaml, 24 h of flow records with a diurnal rate, 1 s bins; repository of 50 versions x ${personas.length} apps`,
    flows: flows.count,
    target: { learnSeconds: 30, lookupMs: 5 },
    learnSeconds: Math.round(learnMs) / 1000,
    lookupMs: { latest, byVersion: latencySummary(lookups.byVersion, 3) },
    met: learnMs < 30_000 && latest.p95 < 5,
    loadAverage: { before: loadBefore, after: loadavg()[0] },
  };
}
