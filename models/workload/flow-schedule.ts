/**
 * A flow schedule: an open-loop workload as data. The flows a generator (poisson-flows.ts, tm-flows.ts) would start
 * over a run, computed once from the scenario and seed, then replayed by every engine: the simulator through its
 * {@link FlowSink} ({@link ScheduleReplay}), the emulator by its traffic agents (emulate/traffic-agents.ts). So both
 * engines carry the very same flows: same ids, endpoints, sizes and start times.
 *
 * Recording. {@link recordSchedule} runs the generators on a private simulator into a recording sink: the same
 * classes drawing from the same named streams as a live run, so the schedule holds exactly the flows (and the
 * streams end in exactly the state) a live run would produce. Flow ids are arrival order, same-instant arrivals in
 * the order the generators' events run (the kernel's FIFO order of ties).
 *
 * Replay. A generator schedules each pair's next arrival when the previous one arrives (the pair's *chain*), and its
 * first arrivals when it starts. {@link ScheduleReplay} schedules the flows the same way: at each source's start,
 * the first flow of each of its chains; at each flow, the next flow of its chain. The kernel then runs the same
 * number of events at the same instants, and ties with other events (samplers, control steps, flow ends) resolve as
 * they did when the generators ran live, so a replayed run is byte-identical to a live one.
 *
 * Units: sizes in bytes, times in integer ns of simulated time; nodes are topology indices.
 */
import { Simulator } from "../../sim/kernel/simulator.ts";
import type { Path } from "../../sim/substrate/routing.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { WorkloadError } from "./errors.ts";
import type { FlowSink, FlowSpec } from "./flow-sink.ts";

/** The application name of a traffic matrix's flows (open-loop node-pair traffic, not an application's RPCs). */
export const TM_APPLICATION = "tm";

/** One flow of a schedule. */
export interface FlowArrival {
  /** Position in the schedule, 0, 1, ...: arrival order. */
  id: number;
  /** Source and destination node indices. */
  src: number;
  dst: number;
  /** Bytes, >= 1. */
  sizeBytes: number;
  /** Arrival time, integer ns. */
  startNs: number;
  /** The generator's tag (traffic-matrix flows: src x N + dst). */
  tag: number;
  /** The application the flow belongs to ({@link TM_APPLICATION} for a traffic matrix's flows). */
  application: string;
}

/** One generator's flows, as chains of flow ids. */
export interface ScheduleSource {
  /** When the generator starts (schedules its first arrivals), integer ns. */
  startNs: number;
  /** Per pair with flows, the ids of its flows in arrival order; chains sorted by their first id. */
  chains: readonly (readonly number[])[];
}

/** An open-loop workload as data (see the module doc). */
export interface FlowSchedule {
  /** Every flow, in id (arrival) order. */
  readonly flows: readonly FlowArrival[];
  /** The generators, in the order they were given (each starts at its `startNs`, also with no flows). */
  readonly sources: readonly ScheduleSource[];
}

/** A generator to record: started at `startNs` on `sim`, it starts flows into `sink`. */
export interface ScheduleGenerator {
  startNs: number;
  /** Application name of its flows. @default TM_APPLICATION */
  application?: string;
  /**
   * How its flows chain (see the module doc): `"pair"`, one chain per node pair (a generator with a pending
   * arrival per pair); `"generator"`, one chain of all its flows (a generator with one pending arrival, as the
   * superposed one). @default "pair"
   */
  chains?: "pair" | "generator";
  start(sim: Simulator, sink: FlowSink): void;
}

/**
 * Runs the generators on a private simulator and records their flows (see the module doc). Arrivals at or after
 * `untilNs` are left out (default: none).
 */
export function recordSchedule(
  topology: Topology,
  generators: readonly ScheduleGenerator[],
  untilNs = Number.POSITIVE_INFINITY,
): FlowSchedule {
  const sim = new Simulator();
  const flows: FlowArrival[] = [];
  const chains = generators.map(() => new Map<number, number[]>());
  generators.forEach((g, i) => {
    const application = g.application ?? TM_APPLICATION;
    const byPair = (g.chains ?? "pair") === "pair";
    const sink: FlowSink = {
      topology,
      startFlow: (spec: FlowSpec): number => {
        const id = flows.length;
        flows.push({
          id,
          src: spec.src,
          dst: spec.dst,
          sizeBytes: spec.sizeBytes,
          startNs: sim.now,
          tag: spec.tag ?? 0,
          application,
        });
        const pair = byPair ? spec.src * topology.nodeCount + spec.dst : 0;
        const chain = chains[i]!.get(pair);
        if (chain) chain.push(id);
        else chains[i]!.set(pair, [id]);
        return id;
      },
    };
    sim.scheduleAt(g.startNs, () => g.start(sim, sink));
  });
  sim.run(untilNs);
  const keep = flows.findIndex((f) => f.startNs >= untilNs);
  const cut = keep < 0 ? flows.length : keep;
  return {
    flows: flows.slice(0, cut),
    sources: generators.map((g, i) => ({
      startNs: g.startNs,
      chains: [...chains[i]!.values()]
        .map((c) => c.filter((id) => id < cut))
        .filter((c) => c.length > 0)
        .sort((a, b) => a[0]! - b[0]!),
    })),
  };
}

/** The schedule's flows that arrive before `untilNs`: a prefix of `schedule.flows`. */
export function flowsBefore(schedule: FlowSchedule, untilNs: number): readonly FlowArrival[] {
  const i = schedule.flows.findIndex((f) => f.startNs >= untilNs);
  return i < 0 ? schedule.flows : schedule.flows.slice(0, i);
}

export interface ScheduleReplayOptions {
  /** Path for a new flow between two node indices (called at arrival; a sink that routes itself ignores it). */
  route: (src: number, dst: number) => Path;
}

/** Replays a {@link FlowSchedule} into a {@link FlowSink} (see the module doc). Call {@link start} once, at time 0. */
export class ScheduleReplay {
  private readonly next: Int32Array;
  private started = 0;

  /**
   * @throws WorkloadError when the schedule's flows are not in id order, a flow is in no chain or in two, a chain
   *   goes back in time, or starts before its source.
   */
  constructor(
    private readonly sim: Simulator,
    private readonly sink: FlowSink,
    private readonly schedule: FlowSchedule,
    private readonly opts: ScheduleReplayOptions,
  ) {
    const { flows } = schedule;
    this.next = new Int32Array(flows.length).fill(-1);
    flows.forEach((f, i) => {
      if (f.id !== i)
        throw new WorkloadError(`flow schedule: flow ${i} has id ${f.id}; ids must be 0, 1, ...`);
    });
    const chained = new Uint8Array(flows.length);
    for (const s of schedule.sources) {
      for (const chain of s.chains) {
        for (const id of chain) {
          if (chained[id] === undefined)
            throw new WorkloadError(`flow schedule: chain names flow ${id}, not a flow`);
          if (chained[id] === 1) throw new WorkloadError(`flow schedule: flow ${id} is in two chains`);
          chained[id] = 1;
        }
        if (chain.length > 0 && flows[chain[0]!]!.startNs < s.startNs)
          throw new WorkloadError(
            `flow schedule: flow ${chain[0]} starts before its source (${s.startNs} ns)`,
          );
        for (let k = 1; k < chain.length; k++) {
          const [a, b] = [chain[k - 1]!, chain[k]!];
          if (flows[b]!.startNs < flows[a]!.startNs)
            throw new WorkloadError(`flow schedule: flow ${b} starts before flow ${a} of its chain`);
          this.next[a] = b;
        }
      }
    }
    const lost = chained.indexOf(0);
    if (lost >= 0)
      throw new WorkloadError(`flow schedule: flow ${lost} is in no chain, so it would never start`);
  }

  /** Flows replayed so far. */
  get flowsStarted(): number {
    return this.started;
  }

  /** Schedules each source's start; a source starts the first flow of each of its chains. */
  start(): void {
    for (const s of this.schedule.sources) {
      this.sim.scheduleAt(s.startNs, () => {
        for (const chain of s.chains) if (chain.length > 0) this.scheduleFlow(chain[0]!);
      });
    }
  }

  private scheduleFlow(id: number): void {
    this.sim.schedule(this.schedule.flows[id]!.startNs - this.sim.now, this.arrive, 0, id);
  }

  private readonly arrive = (id: number): void => {
    const f = this.schedule.flows[id]!;
    this.started++;
    this.sink.startFlow({
      src: f.src,
      dst: f.dst,
      sizeBytes: f.sizeBytes,
      path: this.opts.route(f.src, f.dst),
      tag: f.tag,
      application: f.application,
    });
    const n = this.next[id]!;
    if (n >= 0) this.scheduleFlow(n);
  };
}
