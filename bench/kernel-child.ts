/**
 * One variant of bench/kernel.ts in a process of its own (a fresh JIT: no variant's type feedback shapes another's
 * code), started by its `run` with the V8 flags under test:
 * `node [--max-inlined-bytecode-size-cumulative=N] --import tsx bench/kernel-child.ts '{"scheduler":"calendar","draw":"ziggurat"}'`.
 * Prints the best of three seeded runs (after a 2e5-event warm-up) as JSON on stdout.
 */
import type { SchedulerKind } from "../sim/kernel/event-queue.ts";
import { benchKernel, type ExponentialDraw } from "./kernel.ts";

const opts = JSON.parse(process.argv[2] ?? "{}") as { scheduler?: SchedulerKind; draw?: ExponentialDraw };
benchKernel({ ...opts, executed: 200_000 }); // warm-up (JIT)
const trials = [1, 2, 3].map((seed) => benchKernel({ ...opts, seed }));
const best = trials.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
process.stdout.write(
  `${JSON.stringify({
    ...best,
    trials: trials.map((t) => Math.round(t.eventsPerSecond)),
    finalTimesNs: trials.map((t) => t.finalTimeNs),
    eventsPerCpuSecond: Math.max(...trials.map((t) => t.eventsPerCpuSecond)),
  })}\n`,
);
