/**
 * Kernel benchmark on ns-3's bench-scheduler workload (src/core/examples/bench-scheduler.cc), exactly as
 * ../shared/peers/ns3/sched_bench.cc --mode=hold runs it: keep 1e5 events pending; each executed event draws one
 * exponential gap (mean 100 ns, truncated to integer ns) and schedules one more, for 1e6 events; the next one
 * stops the run. (Until issue 17's kernel work the last 1e5 events here only drained the queue, without a draw or
 * an insert, and gaps were rounded: 10% less work per run than ns-3's.)
 * ns-3's own schedulers reach 0.5-1.3 M events/s on this machine kind; the target here is >= 4 M events/s, and >= 4x
 * ns-3's best scheduler in the same run: when ns-3 is installed (../shared/peers/ns3, bench/ns3-peers.ts) the
 * benchmark runs its sched_bench on the same hold workload with each scheduler and writes the ratio, over wall time
 * (`ratioToNs3Best`) and over CPU time (`cpuRatioToNs3Best`: a shared machine stretches wall time, CPU time less).
 * Those headline ratios are the like-for-like run: gaps by inverse transform as ns-3's std::exponential_distribution
 * draws them (floor(-mean ln(1 - U)), U from two 32-bit steps of the stream), Node's default V8 flags; the integer
 * gap comes from `RandomStream.exponentialInteger`'s threshold table, the same gaps bit for bit as `Math.floor` of
 * `-mean * Math.log1p(-U)` (variant `calendarLog1p` computes that per draw; `run` checks both end at the same
 * simulated time). `ratios` gives the same for the variants, each in a fresh process: gaps by the ziggurat
 * (`RandomStream.exponentialZiggurat`: the same distribution, another sequence, one 32-bit step per draw instead of
 * two and no logarithm), and the table and ziggurat draws with {@link INLINE_BUDGET_FLAG}.
 * `TOPOCAST_NS3_PEERS=/work/shared/peers/ns3 npm run bench -- kernel` from a worktree whose ../shared is elsewhere.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { SchedulerKind } from "../sim/kernel/event-queue.ts";
import { IntegerExponentialTable, type RandomStream, RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { buildNs3Peers } from "./ns3-peers.ts";
import type { BenchResult } from "./run.ts";

/** How {@link benchKernel} draws its exponential gaps. */
export type ExponentialDraw = "inverse" | "inverseTable" | "ziggurat";

export function benchKernel(
  opts: {
    pending?: number;
    executed?: number;
    meanGapNs?: number;
    seed?: number;
    scheduler?: SchedulerKind;
    /**
     * How the gaps are drawn: `"inverse"` (default) floor(-mean ln(1 - U)) from a 53-bit uniform, as ns-3's
     * std::exponential_distribution does, computing `Math.log1p` per draw; `"inverseTable"` the same integer gaps
     * bit for bit from the same uniforms by `RandomStream.exponentialInteger` (a threshold table, the logarithm
     * only in a guard band); `"ziggurat"` `RandomStream.exponentialZiggurat`: the same distribution from one
     * 32-bit step and a table lookup in ~98% of draws, another sequence of gaps.
     */
    draw?: ExponentialDraw;
  } = {},
) {
  const pending = opts.pending ?? 100_000;
  const total = opts.executed ?? 1_000_000;
  const mean = opts.meanGapNs ?? 100;
  const rng = new RandomStreams(opts.seed ?? 1).stream("bench-scheduler");
  const scheduler = opts.scheduler ?? "calendar";
  const draw = opts.draw ?? "inverse";
  const sim = new Simulator({ scheduler, initialQueueCapacity: pending * 2 });
  // As sched_bench's HoldCb: every executed event schedules one more (the population stays at `pending` to the
  // end; no drain phase) at a gap truncated to integer ns (`(uint64_t)` there), and the event after the
  // `total`-th stops the run, leaving `pending` events queued. The handlers are module-level functions over one
  // module-level record, as HoldCb is a static function over globals: a closure made per run would be a new call
  // target for the run loop's inlined dispatch each run (measured: the first run after a warm-up deoptimized on
  // "wrong call target", best of 5 runs 11.6-14.1 M events/s against 11.4-15.4 with the static handler).
  hold.sim = sim;
  hold.rng = rng;
  hold.mean = mean;
  hold.table = draw === "inverseTable" ? new IntegerExponentialTable(mean, "floor") : null;
  hold.ran = 0;
  hold.total = total;
  // Three handlers rather than a branch on `draw` per event, so each run's loop is the one it measures.
  const handler = draw === "ziggurat" ? holdZiggurat : draw === "inverseTable" ? holdTable : holdInverse;
  for (let i = 0; i < pending; i++) {
    const gap = draw === "ziggurat" ? rng.exponentialZiggurat(mean) : rng.exponential(mean);
    sim.schedule(Math.floor(gap), handler);
  }
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  sim.run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  return {
    scheduler,
    draw,
    pending,
    executed: hold.ran,
    meanGapNs: mean,
    /** Simulated time at the end, ns: equal for "inverse" and "inverseTable" (the same gaps). */
    finalTimeNs: sim.now,
    wallSeconds,
    eventsPerSecond: hold.ran / wallSeconds,
    /** User + system CPU of the run (GC threads included): on a shared machine wall time stretches, this less. */
    cpuSeconds,
    eventsPerCpuSecond: hold.ran / cpuSeconds,
  };
}

/** The running hold benchmark's state (one run at a time per process), read by the handlers below. */
const hold: {
  sim: Simulator;
  rng: RandomStream;
  mean: number;
  table: IntegerExponentialTable | null;
  ran: number;
  total: number;
} = {
  sim: new Simulator(),
  rng: new RandomStreams(0).stream("unused"),
  mean: 1,
  table: null,
  ran: 0,
  total: 0,
};

/** The hold handler with inverse-transform gaps, `Math.log1p` per draw. */
function holdInverse(): void {
  if (hold.ran === hold.total) {
    hold.sim.stop();
    return;
  }
  hold.ran++;
  hold.sim.schedule(Math.floor(hold.rng.exponential(hold.mean)), holdInverse);
}

/** The hold handler with ziggurat gaps. */
function holdZiggurat(): void {
  if (hold.ran === hold.total) {
    hold.sim.stop();
    return;
  }
  hold.ran++;
  hold.sim.schedule(Math.floor(hold.rng.exponentialZiggurat(hold.mean)), holdZiggurat);
}

/** The hold handler with the same inverse-transform gaps from the threshold table. */
function holdTable(): void {
  if (hold.ran === hold.total) {
    hold.sim.stop();
    return;
  }
  hold.ran++;
  hold.sim.schedule(hold.rng.exponentialInteger(hold.table!), holdTable);
}

const NS3_SCHEDULERS = ["map", "heap", "calendar", "pq"] as const;

/** One sched_bench hold run: its events/s over Simulator::Run's wall time, and its CPU seconds (GNU time). */
function ns3Hold(
  bin: string,
  sched: string,
  n: number,
  seed: number,
): { eventsPerSecond: number; cpuSeconds: number } {
  const args = [
    "-f",
    "cpu=%U %S",
    bin,
    "--mode=hold",
    `--sched=${sched}`,
    `--n=${n}`,
    "--pop=100000",
    `--seed=${seed}`,
  ];
  const r = spawnSync("/usr/bin/time", args, { encoding: "utf8" });
  const m = /run_ev_per_s=([\d.e+]+)/.exec(r.stdout);
  const c = /cpu=([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m || !c)
    throw new Error(`sched_bench under GNU time failed: ${r.stdout} ${r.stderr}`);
  return { eventsPerSecond: Number(m[1]), cpuSeconds: Number(c[1]) + Number(c[2]) };
}

/**
 * One seed of sched_bench's hold workload with `sched` (1e6 events): events/s over Simulator::Run's wall time, and
 * events per CPU second: the process's CPU for 1e6 events minus that for 1 event (start-up, the 1e5 initial events
 * and teardown), which a loaded machine stretches less than wall time.
 */
function ns3Trial(
  bin: string,
  sched: string,
  seed: number,
): { eventsPerSecond: number; eventsPerCpuSecond: number } {
  const full = ns3Hold(bin, sched, 1_000_000, seed);
  const base = ns3Hold(bin, sched, 1, seed);
  return {
    eventsPerSecond: full.eventsPerSecond,
    eventsPerCpuSecond: 1e6 / Math.max(1e-3, full.cpuSeconds - base.cpuSeconds),
  };
}

/**
 * ns-3's schedulers on the same hold workload (sched_bench --mode=hold --n=1e6 --pop=1e5, events executed over
 * Simulator::Run's wall time, as {@link benchKernel} counts), best of `trials` seeds each ({@link ns3Trial}), wall
 * and per CPU second. `bin`: the built sched_bench.
 */
function ns3Schedulers(bin: string, trials: number): Record<string, unknown> {
  const per: Record<string, number[]> = {};
  const perCpu: Record<string, number> = {};
  for (const sched of NS3_SCHEDULERS) {
    // ns-3's calendar scheduler runs this workload at ~20 k events/s (a minute per run): one trial of it.
    const runs = Array.from({ length: sched === "calendar" ? 1 : trials }, (_, i) =>
      ns3Trial(bin, sched, i + 1),
    );
    per[sched] = runs.map((r) => r.eventsPerSecond);
    perCpu[sched] = Math.max(...runs.map((r) => r.eventsPerCpuSecond));
  }
  const best = NS3_SCHEDULERS.map((sched) => ({ sched, eventsPerSecond: Math.max(...per[sched]!) })).reduce(
    (a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a),
  );
  const bestCpu = NS3_SCHEDULERS.map((sched) => ({ sched, eventsPerCpuSecond: perCpu[sched]! })).reduce(
    (a, b) => (b.eventsPerCpuSecond > a.eventsPerCpuSecond ? b : a),
  );
  return {
    version: "ns-3 3.37 (Debian libns3-dev)",
    trials: per,
    best,
    eventsPerCpuSecond: perCpu,
    bestCpu,
  };
}

/** Rounds of {@link pairedRounds}. */
export const PAIRED_ROUNDS = 7;

/**
 * The like-for-like ratio, robust to a noisy machine: `rounds` rounds, each a fresh topocast process (`calendar`,
 * table draw, default flags; best of its three seeds) and ns-3's pq scheduler (best of three seeds, wall and CPU as
 * {@link ns3Schedulers} counts them) back to back, in alternating order; per round the ratio of the two, over
 * wall and over CPU time; the median of the rounds. A single 1e6-event run lasts ~0.1 s, so one run's ratio
 * swings 1.4-4.9x on an idle VM (stop 29): only rounds side by side in time give a figure to quote.
 * `bin`: the built sched_bench.
 */
function pairedRounds(bin: string, rounds: number): Record<string, unknown> {
  const ns3Pq = (): { eventsPerSecond: number; eventsPerCpuSecond: number } => {
    const runs = [1, 2, 3].map((seed) => ns3Trial(bin, "pq", seed));
    return {
      eventsPerSecond: Math.max(...runs.map((r) => r.eventsPerSecond)),
      eventsPerCpuSecond: Math.max(...runs.map((r) => r.eventsPerCpuSecond)),
    };
  };
  const per: { topocast: number; ns3Pq: number; wall: number; cpu: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternating order, so a slow spell of the machine does not always fall on the same side.
    const ns3First = r % 2 === 1 ? ns3Pq() : undefined;
    const ours = variant("calendar", "inverseTable", []);
    const ns3 = ns3First ?? ns3Pq();
    per.push({
      topocast: Math.round(ours.eventsPerSecond),
      ns3Pq: Math.round(ns3.eventsPerSecond),
      wall: ours.eventsPerSecond / ns3.eventsPerSecond,
      cpu: ours.eventsPerCpuSecond / ns3.eventsPerCpuSecond,
    });
  }
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  return {
    rounds: per,
    medianWall: median(per.map((x) => x.wall)),
    medianCpu: median(per.map((x) => x.cpu)),
    rangeWall: [Math.min(...per.map((x) => x.wall)), Math.max(...per.map((x) => x.wall))],
  };
}

/**
 * V8's inlining budget per optimized function (`--max-inlined-bytecode-size-cumulative`, default 920 bytes of
 * bytecode in Node 20's V8). The hold loop (Simulator.run, the calendar queue's pop, the handler, the draw and
 * `schedule` with the queue's push) is about 2,600 bytes of bytecode: at the default the budget runs out at the
 * `schedule` call, which stays a call; at this value the whole loop compiles as one function.
 */
export const INLINE_BUDGET_FLAG = "--max-inlined-bytecode-size-cumulative=4000";

/** One topocast variant in a fresh process (bench/kernel-child.ts) with `v8Flags`. */
function variant(
  scheduler: SchedulerKind,
  draw: ExponentialDraw,
  v8Flags: readonly string[],
): ReturnType<typeof benchKernel> & { trials: number[]; finalTimesNs: number[]; v8Flags: readonly string[] } {
  const child = join(import.meta.dirname ?? "bench", "kernel-child.ts");
  const out = execFileSync(
    process.execPath,
    [...v8Flags, "--import", "tsx", child, JSON.stringify({ scheduler, draw })],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  return { ...JSON.parse(out), v8Flags };
}

export function run(): BenchResult {
  // Each variant in its own process, one after another.
  const calendar = variant("calendar", "inverseTable", []);
  const calendarLog1p = variant("calendar", "inverse", []);
  const calendarZiggurat = variant("calendar", "ziggurat", []);
  const calendarInlined = variant("calendar", "inverseTable", [INLINE_BUDGET_FLAG]);
  const calendarZigguratInlined = variant("calendar", "ziggurat", [INLINE_BUDGET_FLAG]);
  const heap = variant("heap", "inverseTable", []);
  // the same gaps: each seed's run ends at the same simulated time with either draw
  if (calendar.finalTimesNs.join() !== calendarLog1p.finalTimesNs.join()) {
    throw new Error(
      `bench kernel: the table draw's runs ended at ${calendar.finalTimesNs} ns, Math.log1p's at ${calendarLog1p.finalTimesNs} ns`,
    );
  }
  // ns-3 between topocast's runs would share the machine's load alike; run it right after. Built once for both.
  const built = buildNs3Peers();
  let ns3: Record<string, unknown>;
  let paired: Record<string, unknown>;
  if ("missing" in built) ns3 = paired = { skipped: built.missing };
  else {
    try {
      const bin = join(built.dir, "sched_bench");
      ns3 = ns3Schedulers(bin, 3);
      paired = pairedRounds(bin, PAIRED_ROUNDS);
    } finally {
      rmSync(built.dir, { recursive: true, force: true });
    }
  }
  const best = ns3.best as { eventsPerSecond: number } | undefined;
  const bestCpu = ns3.bestCpu as { eventsPerCpuSecond: number } | undefined;
  const variants = { calendar, calendarLog1p, calendarZiggurat, calendarInlined, calendarZigguratInlined };
  // Per variant its ratio to ns-3's best scheduler, over wall time and over CPU time.
  const ratios = Object.fromEntries(
    Object.entries(variants).map(([name, v]) => [
      name,
      {
        ...(best ? { wall: v.eventsPerSecond / best.eventsPerSecond } : {}),
        ...(bestCpu ? { cpu: v.eventsPerCpuSecond / bestCpu.eventsPerCpuSecond } : {}),
      },
    ]),
  );
  return {
    workload: "ns-3 bench-scheduler: 1e5 pending, 1e6 executed, exponential gaps mean 100 ns",
    target: { eventsPerSecond: 4e6 },
    reference: "ns-3 schedulers: 0.5-1.3 M events/s on this machine kind",
    variants:
      "calendar: inverse-transform gaps (as ns-3: floor(-mean ln(1 - U))) by RandomStream.exponentialInteger's " +
      "threshold table, Node's default V8 flags; calendarLog1p: the same gaps bit for bit, Math.log1p per draw; " +
      "calendarZiggurat: ziggurat gaps (same distribution, another sequence); *Inlined: calendar and " +
      `calendarZiggurat with ${INLINE_BUDGET_FLAG}`,
    eventsPerSecond: calendar.eventsPerSecond,
    wallSeconds: calendar.wallSeconds,
    executed: calendar.executed,
    schedulers: { ...variants, heap },
    ns3,
    loadAverage: loadavg(),
    ...(best ? { ratioToNs3Best: calendar.eventsPerSecond / best.eventsPerSecond, ratioTarget: 4 } : {}),
    ...(bestCpu ? { cpuRatioToNs3Best: calendar.eventsPerCpuSecond / bestCpu.eventsPerCpuSecond } : {}),
    ratios,
    // The figure to quote for the 4x target: the median of rounds side by side in time (see pairedRounds).
    paired,
    ...(typeof paired.medianWall === "number"
      ? { pairedMedianRatioWall: paired.medianWall, pairedMedianRatioCpu: paired.medianCpu }
      : {}),
  };
}
