/**
 * What a persona's apply costs the traffic in the emulator (root; issue 14): the trading persona of
 * experiments/configs/personas/trading.json applied and rolled back through the persona policy's own code
 * (models/policies/persona.ts `applyChanges`, the journal) on personas-emulate's ring (six namespaces, 100 Mbit/s
 * links of 1 ms: its 1 Gbit/s at rateScale 0.1) while its six application pairs each open a connection every 25 ms
 * (200 bytes, personas-emulate's trading and ledger messages at that scale) and the traffic agents time them.
 *
 * Reported:
 * - per verb call of the apply and of the rollback: wall ms, the controller's CPU ms over the phase;
 * - per phase (before, apply, after the apply, rollback, after): the flows in flight during it (started before its
 *   end, finished after its start), their FCT p50 / p99 / max and failures (by message), and the kernel's counters
 *   summed over the namespaces (/proc/net/snmp, /proc/net/netstat and the qdiscs' drops): `udpNoPorts` (datagrams
 *   to a port nobody listens on: VXLAN packets reaching a tunnel end not yet, or no longer, there), `tcpRetransSegs`,
 *   `tcpOutRsts` (resets sent: refused connections), `tcpTimeouts` (RTOs), `qdiscDrops`;
 * - the load average before and after (a shared machine: wall times scale with it, the counters do not).
 *
 * `npm run bench -- persona-apply`; `--flows-ms 25` (gap between a pair's connections).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AgentReport } from "../emulate/agent.ts";
import { probe } from "../emulate/capabilities.ts";
import { EmulationControlPlane } from "../emulate/control-plane.ts";
import type { Plan } from "../emulate/plan.ts";
import { ProcessRunner, parallel } from "../emulate/runner.ts";
import { down, up } from "../emulate/substrate.ts";
import { TrafficAgents } from "../emulate/traffic-agents.ts";
import { PersonaSchema } from "../models/personas/profile.ts";
import { journaling } from "../models/policies/journal.ts";
import { applyChanges } from "../models/policies/persona.ts";
import { ApplicationView, personaDiff } from "../models/policies/persona-config.ts";
import type { Observation } from "../models/policies/types.ts";
import { decorate, whenSettled } from "../models/policies/verb-decorator.ts";
import { VERBS } from "../models/policies/verbs.ts";
import type { FlowArrival } from "../models/workload/flow-schedule.ts";
import { percentileNearestRank } from "../sim/metrics/flow-stats.ts";
import { ring } from "../sim/substrate/generators.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

const MS = 1_000_000;
/** trading's pairs (as personas-emulate's call graph makes them) with their application pair and port. */
const PAIRS: { src: number; dst: number; application: string; port: number }[] = [
  { src: 2, dst: 1, application: "client->trading", port: 9000 },
  { src: 5, dst: 1, application: "client->trading", port: 9000 },
  { src: 1, dst: 2, application: "trading->client", port: 9000 },
  { src: 1, dst: 5, application: "trading->client", port: 9000 },
  { src: 1, dst: 4, application: "trading->ledger", port: 5432 },
  { src: 4, dst: 1, application: "ledger->trading", port: 5432 },
];
/** The apply starts then (or when the counters before it are read), the rollback this long after its end. */
const APPLY_AT_MS = 2500;
const KEEP_MS = 2000;
/** The connections' schedule ends then (the rollback comes well before on a machine that is not overloaded). */
const END_MS = 12_000;

type Counters = Record<"udpNoPorts" | "tcpRetransSegs" | "tcpOutRsts" | "tcpTimeouts" | "qdiscDrops", number>;

/** One flow as the agents reported it (ms from the epoch). */
interface FlowRecord {
  startMs: number;
  endMs: number | null;
  error?: string;
}

export async function run(opts: BenchOptions = {}): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "needs root (network namespaces)" };
  const gapMs = Number(opts["flows-ms"] ?? 25);
  const runner = new ProcessRunner();
  const capabilities = await probe(runner);
  const loadBefore = loadavg();
  const r = await up(ring(6, { capacityBps: 100e6, delayNs: 1 * MS }), { capabilities, runner });
  const work = mkdtempSync(join(tmpdir(), "topocast-persona-apply-"));
  const ctl = EmulationControlPlane.attach(r.runId, { runner });
  try {
    const flows: FlowArrival[] = [];
    for (let t = 500; t < END_MS - 500; t += gapMs)
      for (const p of PAIRS)
        flows.push({
          id: flows.length,
          src: p.src,
          dst: p.dst,
          sizeBytes: 200,
          startNs: t * MS,
          tag: 0,
          application: p.application,
        });
    const records = new Map<number, FlowRecord>(
      flows.map((f) => [f.id, { startMs: f.startNs / MS, endMs: null }]),
    );
    const agents = startAgents(r.plan, flows, work, records);
    await agents.whenListening();
    const epoch = agents.startClock();
    const nowMs = () => Number(process.hrtime.bigint() - epoch) / MS;
    const { phases, calls, changes, refused } = await applyAndRollBack(ctl, r.plan.nodes, nowMs);
    await sleep(END_MS + 1500 - nowMs());
    agents.stop();
    const [before, apply, back] = phases as [Phase, Phase, Phase];
    const windows = [
      { name: "before", fromMs: before.fromMs, toMs: apply.fromMs },
      { name: "apply", fromMs: apply.fromMs, toMs: apply.toMs },
      { name: "after apply", fromMs: apply.toMs, toMs: back.fromMs },
      { name: "rollback", fromMs: back.fromMs, toMs: back.toMs },
      { name: "after rollback", fromMs: back.toMs, toMs: END_MS - 500 },
    ];
    return {
      workload: `ring of 6 namespaces (${r.plan.links[0]?.kind} links, 100 Mbit/s, 1 ms); trading's 6 pairs each a 200-byte connection every ${gapMs} ms; the trading persona (${changes} changes) applied at ${round1(apply.fromMs)} ms and rolled back ${KEEP_MS} ms after it was in place`,
      loadAverage: { before: loadBefore.map(round1), after: loadavg().map(round1) },
      refused,
      phases: phases.map((p) => ({
        ...p,
        fromMs: round1(p.fromMs),
        toMs: round1(p.toMs),
        cpuMs: round1(p.cpuMs),
      })),
      verbs: calls.map((c) => ({ ...c, fromMs: round1(c.fromMs), wallMs: round1(c.wallMs) })),
      flows: windows.map((w) => ({
        ...w,
        fromMs: round1(w.fromMs),
        toMs: round1(w.toMs),
        ...flowStats([...records.values()], w.fromMs, w.toMs),
      })),
    };
  } finally {
    ctl.close();
    await down(r.runId, { runner });
    rmSync(work, { recursive: true, force: true });
  }
}

interface Phase {
  name: string;
  fromMs: number;
  toMs: number;
  /** The controller's CPU ms over the phase's calls. */
  cpuMs: number;
  counters: Counters;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, Math.max(0, ms)));

/** The traffic agents, reporting into `records`. */
function startAgents(
  plan: Plan,
  flows: FlowArrival[],
  work: string,
  records: Map<number, FlowRecord>,
): TrafficAgents {
  const settings = {
    timeCompression: 1,
    rateScale: 1,
    durationNs: null,
    drainNs: 2000 * MS,
    delay: "auto",
    rate: "auto",
    addressBlock: plan.settings.addressBlock,
    port: 7000,
    queueNs: null,
    allowDegrade: false,
    maxFlows: 100_000,
    checkRates: false,
    conntrack: false,
  } as const;
  const onReport = (rep: AgentReport) => {
    const rec = "id" in rep ? records.get(rep.id) : undefined;
    if (!rec) return;
    if (rep.event === "flow") rec.endMs = rec.startMs + rep.fctNs / MS;
    else if (rep.event === "flow-error") rec.error = rep.error.replace(/\d+(\.\d+)*:\d+/g, "*");
  };
  const ports = Object.fromEntries(PAIRS.map((p) => [p.application, p.port]));
  return new TrafficAgents(plan, flows, { ...settings }, work, 0, onReport, ports);
}

/**
 * A phase of traffic alone (its counters), then the persona's changes through the policy's `applyChanges` and the
 * journal's rollback, each a phase timed and counted (until 300 ms after its end, for what was in flight to settle).
 */
async function applyAndRollBack(ctl: EmulationControlPlane, nodes: Plan["nodes"], nowMs: () => number) {
  const namespaces = nodes.map((n) => n.netns);
  const phases: Phase[] = [];
  const phase = async (name: string, f: () => Promise<unknown>) => {
    const c0 = await kernelCounters(ctl, namespaces);
    const cpu = process.cpuUsage();
    const fromMs = nowMs();
    await f();
    const toMs = nowMs();
    const used = process.cpuUsage(cpu);
    await sleep(toMs + 300 - nowMs());
    const counters = diff(await kernelCounters(ctl, namespaces), c0);
    phases.push({ name, fromMs, toMs, cpuMs: (used.user + used.system) / 1000, counters });
  };
  const { verbs, calls } = timedVerbs(ctl, nowMs);
  const journal = journaling(verbs);
  const file = resolve(import.meta.dirname ?? ".", "../experiments/configs/personas/trading.json");
  const persona = PersonaSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  const view = new ApplicationView();
  const obs = observation(
    nodes.map((n) => n.id),
    ctl,
  );
  view.observe(obs);
  const changes = await personaDiff(persona, view, obs, ctl, 3);
  const mark = journal.mark();
  let refused = 0;
  await sleep(500 - nowMs());
  await phase("before", () => sleep(1000));
  await sleep(APPLY_AT_MS - nowMs());
  await phase("apply", async () => {
    refused = await applyChanges(journal, changes);
  });
  await sleep(phases.at(-1)!.toMs + KEEP_MS - nowMs());
  await phase("rollback", async () => journal.rollback(mark));
  return { phases, calls, changes: changes.length, refused };
}

interface VerbCall {
  verb: string;
  what: string;
  fromMs: number;
  wallMs: number;
  error?: string;
}

/** The control plane with every action timed (`calls`, ms from the epoch). */
function timedVerbs(ctl: EmulationControlPlane, nowMs: () => number) {
  const calls: VerbCall[] = [];
  const verbs = decorate(VERBS, ctl, (verb, decl, args, call) => {
    if (decl.kind !== "action") return call(args);
    const c: VerbCall = { verb, what: JSON.stringify(args), fromMs: nowMs(), wallMs: 0 };
    calls.push(c);
    return whenSettled(
      () => call(args),
      (s) => {
        c.wallMs = nowMs() - c.fromMs;
        if (!s.ok) c.error = (s.error as Error).name;
      },
    );
  });
  return { verbs, calls };
}

/** An Observation where trading's pairs carried traffic and nothing is configured yet. */
function observation(nodes: string[], ctl: EmulationControlPlane): Observation {
  return {
    timeNs: 0,
    intervalNs: 100 * MS,
    nodes,
    traffic: [],
    applications: PAIRS.map((p) => ({
      application: p.application,
      src: nodes[p.src]!,
      dst: nodes[p.dst]!,
      bytes: 1000,
      flows: 1,
    })),
    links: [],
    virtualLinks: ctl.virtualLinks(),
    routes: ctl.routes(),
    vnaPool: ctl.vnaPool(),
    probes: [],
    mirrors: [],
  };
}

/** The kernel's counters summed over the namespaces (see the module doc). */
async function kernelCounters(ctl: EmulationControlPlane, namespaces: string[]): Promise<Counters> {
  const total: Counters = { udpNoPorts: 0, tcpRetransSegs: 0, tcpOutRsts: 0, tcpTimeouts: 0, qdiscDrops: 0 };
  const runner = new ProcessRunner();
  await parallel(namespaces, async (ns) => {
    const snmp = await runner.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp", "/proc/net/netstat"], {
      check: false,
    });
    const field = (proto: string, key: string) => {
      const lines = snmp.stdout.split("\n").filter((l) => l.startsWith(`${proto}:`));
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const k = lines[i]!.split(/\s+/).indexOf(key);
        if (k >= 0) return Number(lines[i + 1]!.split(/\s+/)[k]) || 0;
      }
      return 0;
    };
    total.udpNoPorts += field("Udp", "NoPorts");
    total.tcpRetransSegs += field("Tcp", "RetransSegs");
    total.tcpOutRsts += field("Tcp", "OutRsts");
    total.tcpTimeouts += field("TcpExt", "TCPTimeouts");
    const q = await ctl.stats("tc", ns, ["qdisc", "show"]);
    for (const d of q ? (JSON.parse(q) as { kind: string; drops?: number; parent?: string }[]) : [])
      if (d.kind === "bfifo" || d.kind === "pfifo") total.qdiscDrops += d.drops ?? 0;
  });
  return total;
}

function diff(a: Counters, b: Counters): Counters {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - b[k as keyof Counters]])) as Counters;
}

/**
 * The flows in flight in [fromMs, toMs) (a failed one: started in it): FCT p50 / p99 / max (ms), failures by message.
 */
function flowStats(records: FlowRecord[], fromMs: number, toMs: number) {
  const inFlight = records.filter((f) =>
    f.endMs === null ? f.startMs >= fromMs && f.startMs < toMs : f.startMs < toMs && f.endMs >= fromMs,
  );
  const fct = inFlight.flatMap((f) => (f.endMs === null ? [] : [f.endMs - f.startMs])).sort((a, b) => a - b);
  const errors: Record<string, number> = {};
  for (const f of inFlight)
    if (f.endMs === null) errors[f.error ?? "unfinished"] = (errors[f.error ?? "unfinished"] ?? 0) + 1;
  const p = (q: number) => (fct.length ? round1(percentileNearestRank(fct, q)) : null);
  return { flows: inFlight.length, fctMs: { p50: p(50), p99: p(99), max: p(100) }, errors };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
