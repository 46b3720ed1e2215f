/**
 * The flows the emulator replays: exactly the simulator's (the same Poisson sources drawing from the same named
 * streams, so flow ids, endpoints, sizes and arrival times equal `topocast run`'s), cut at the emulated window.
 */
import { PoissonFlowSource } from "../models/workload/poisson-flows.ts";
import type { Scenario } from "../sim/engine/types.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import type { Path } from "../sim/substrate/routing.ts";

/** One flow of the workload, as the simulator generates it (simulated units, node indices). */
export interface ScheduledFlow {
  /** The simulator's flow id (arrival order over the run). */
  id: number;
  src: number;
  dst: number;
  sizeBytes: number;
  startNs: number;
  tag: number;
}

/**
 * The scenario's flows that arrive before `untilNs`, exactly as `runPolicy` generates them (same sources, same
 * named streams `flows/<src>-><dst>`, same arrival order and ids).
 */
export function scheduledFlows(scenario: Scenario, untilNs: number): ScheduledFlow[] {
  const sim = new Simulator();
  const out: ScheduledFlow[] = [];
  const sink = {
    topology: scenario.topology,
    startFlow: (spec: { src: number; dst: number; sizeBytes: number; tag?: number }): number => {
      out.push({
        id: out.length,
        src: spec.src,
        dst: spec.dst,
        sizeBytes: spec.sizeBytes,
        startNs: sim.now,
        tag: spec.tag ?? 0,
      });
      return out.length - 1;
    },
  };
  const streams = new RandomStreams(scenario.seed, scenario.run);
  const noPath: Path = [];
  for (const iv of scenario.intervals) {
    sim.scheduleAt(iv.startNs, () => {
      new PoissonFlowSource(sim, sink, {
        demands: iv.demands,
        sizes: scenario.flowSizes,
        streams,
        route: () => noPath,
        untilNs: iv.endNs,
      }).start();
    });
  }
  sim.run(untilNs);
  return out.filter((f) => f.startNs < untilNs);
}
