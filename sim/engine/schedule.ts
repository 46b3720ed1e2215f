/**
 * The flow schedule of a {@link Scenario}: its demand intervals' Poisson flows drawn from `RandomStreams(seed, run)`,
 * computed once per scenario object and replayed by every policy's run in both engines (the simulator's
 * `runPolicy`, the emulator's traffic agents). `scenario.arrivals` picks the generator: a process per pair
 * (models/workload/poisson-flows.ts, streams `flows/<src>-><dst>`; the default) or one superposed process per
 * interval (models/workload/superposed-flows.ts, stream `flows/superposed`).
 */
import type { FlowSchedule } from "../../models/workload/flow-schedule.ts";
import { poissonSchedule } from "../../models/workload/poisson-flows.ts";
import { superposedSchedule } from "../../models/workload/superposed-flows.ts";
import { RandomStreams } from "../kernel/rng.ts";
import type { Scenario } from "./types.ts";

const computed = new WeakMap<Scenario, FlowSchedule>();

/** The scenario's open-loop flows (computed on first call, then the same object). */
export function scenarioSchedule(scenario: Scenario): FlowSchedule {
  let s = computed.get(scenario);
  if (!s) {
    const streams = new RandomStreams(scenario.seed, scenario.run);
    const build = scenario.arrivals === "superposed" ? superposedSchedule : poissonSchedule;
    s = build(scenario.topology, scenario.intervals, scenario.flowSizes, streams);
    computed.set(scenario, s);
  }
  return s;
}
