/**
 * The flow schedule of a {@link Scenario}: its demand intervals' Poisson flows (models/workload/poisson-flows.ts)
 * drawn from `RandomStreams(seed, run)` (streams `flows/<src>-><dst>`), computed once per scenario object and
 * replayed by every policy's run in both engines (the simulator's `runPolicy`, the emulator's traffic agents).
 */
import type { FlowSchedule } from "../../models/workload/flow-schedule.ts";
import { poissonSchedule } from "../../models/workload/poisson-flows.ts";
import { RandomStreams } from "../kernel/rng.ts";
import type { Scenario } from "./types.ts";

const computed = new WeakMap<Scenario, FlowSchedule>();

/** The scenario's open-loop flows (computed on first call, then the same object). */
export function scenarioSchedule(scenario: Scenario): FlowSchedule {
  let s = computed.get(scenario);
  if (!s) {
    const streams = new RandomStreams(scenario.seed, scenario.run);
    s = poissonSchedule(scenario.topology, scenario.intervals, scenario.flowSizes, streams);
    computed.set(scenario, s);
  }
  return s;
}
