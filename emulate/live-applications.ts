/**
 * Applications' call graphs in the emulator: the simulator's closed-loop workload (models/workload/applications.ts,
 * the same `AppWorkload`, the same named random streams from the scenario's seed and run, the same tags) run live
 * against the traffic agents. Its kernel (a `Simulator` of its own) is moved along the wall clock: simulated time
 * = (now - epoch) x timeCompression; an event runs when the wall clock reaches it, and a flow's end is the agents'
 * report of its last byte at the receiver (the flow ledger's `onLiveEnd`), so the next step of a call starts from
 * what the real network did, as in the simulator it starts from what the model did.
 *
 * Flows as connections: a request flow is a TCP connection from the caller's namespace to its exchange's server
 * port in the callee's namespace (the application's `port`, emulate/application-ports.ts), sent by the caller's
 * agent; its response goes back over the same connection when the callee's invocation is over (emulate/agent.ts,
 * the `respond` op), so an exchange is one connection, as an RPC is. Each flow joins the flow ledger with its
 * application pair, tag, port and protocol before its agent is told.
 *
 * Same draws, same flows: the workload draws from its own streams only (arrivals, instance choice, sizes,
 * probabilities), so a call graph whose draws do not depend on the order in which concurrent calls return (one
 * instance per app, constant sizes, probability 1, or calls that do not overlap) gives the simulator's flow list:
 * the same (src, dst, size, application, port, protocol) per flow, at start times that differ by what the network
 * did. With several instances or size distributions and overlapping calls, the draws of one edge are taken in the
 * order its callers' invocations start, which follows the network: the same draws, possibly in another order.
 *
 * Times: flows start at the kernel's now (simulated ns): an entry's request at its arrival, a call's next flow at
 * the instant the previous one's last byte arrived; a flow told late to its agent (a busy controller, the pipes)
 * starts when told, and the lateness counts in its FCT and in the ledger's start lateness. Sizes are scaled as the scheduled flows' (emulate/scaling.ts).
 */
import { AppWorkload, type AppWorkloadSpec, applicationTagBase } from "../models/workload/applications.ts";
import type { FlowArrival } from "../models/workload/flow-schedule.ts";
import type {
  FlowEndEvent,
  FlowEventSource,
  FlowEvents,
  FlowSink,
  FlowSpec,
} from "../models/workload/flow-sink.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { EmulationError } from "./errors.ts";
import type { FlowLedger } from "./flow-ledger.ts";
import type { Plan } from "./plan.ts";
import type { EmulationRunSettings } from "./run-settings.ts";
import { emulatedBytes } from "./scaling.ts";
import type { TrafficAgents } from "./traffic-agents.ts";

export interface LiveApplicationsOptions {
  seed: number;
  run: number;
  /** No new external requests at or after this simulated time, ns (the emulated window). */
  untilNs: number;
  /** The first live flow's id (above every scheduled flow's). */
  firstId: number;
  /** The port of each application pair (emulate/application-ports.ts). */
  ports: Readonly<Record<string, number>>;
}

/** The applications of a scenario, run live on the agents; {@link start} at the epoch. */
export class LiveApplications implements FlowSink {
  readonly topology: Topology;
  private readonly sim = new Simulator();
  private readonly endListeners: ((e: FlowEndEvent) => void)[] = [];
  /** The workload's view of flow events: only ends (it never asks for starts). */
  private readonly events: FlowEventSource = {
    on: <K extends keyof FlowEvents>(kind: K, fn: (event: FlowEvents[K]) => void) => {
      if (kind === "flowEnd") this.endListeners.push(fn as (e: FlowEndEvent) => void);
      return () => {};
    },
  };
  private readonly workload: AppWorkload;
  private nextId: number;
  private epoch: bigint | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    topology: Topology,
    spec: AppWorkloadSpec,
    private readonly plan: Plan,
    private readonly agents: TrafficAgents,
    private readonly ledger: FlowLedger,
    private readonly settings: EmulationRunSettings,
    private readonly opts: LiveApplicationsOptions,
  ) {
    this.topology = topology;
    this.nextId = opts.firstId;
    this.workload = new AppWorkload(this.sim, this, this.events, spec, {
      streams: new RandomStreams(opts.seed, opts.run),
      route: () => [],
      tagBase: applicationTagBase(topology.nodeCount),
      untilNs: opts.untilNs,
    });
    ledger.onLiveEnd = (f, endNs) => this.ended(f, endNs);
    ledger.livePending = () => !this.stopped && this.sim.pending > 0;
  }

  /** Application pairs, sorted (a flow's tag is tagBase + index). */
  get appPairs(): readonly string[] {
    return this.workload.appPairs;
  }

  /** External requests started and finished so far. */
  get requests(): { started: number; finished: number } {
    return { started: this.workload.requestsStarted, finished: this.workload.completed.length };
  }

  /** Starts the entries' arrivals on the agents' epoch (hrtime ns). */
  start(epoch: bigint): void {
    this.epoch = epoch;
    this.workload.start();
    this.pump();
  }

  /** Stops: no more events run, no more flows start. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Simulated ns now, from the epoch. */
  private nowNs(): number {
    if (this.epoch === null) throw new EmulationError("live applications: not started");
    const wall = Number(process.hrtime.bigint() - this.epoch);
    return Math.max(0, Math.round(wall * this.settings.timeCompression));
  }

  /** Runs the kernel up to the wall clock's now, then waits for its next event. */
  private pump = (): void => {
    this.timer = null;
    if (this.stopped) return;
    const now = this.nowNs();
    if (now > this.sim.now) this.sim.run(now);
    const next = this.sim.nextEventTime;
    if (next === Number.POSITIVE_INFINITY) return;
    const waitMs = Math.max(0, (next - this.nowNs()) / this.settings.timeCompression / 1e6);
    this.timer = setTimeout(this.pump, waitMs);
  };

  /**
   * A live flow's last byte arrived at `endNs`: the workload takes its next step then (the kernel runs up to it
   * first, unless it is already past it), so the next flow's start is that instant and any delay of the report
   * and of its agent counts in that flow's FCT, as the start lateness of an entry's request does.
   */
  private ended(f: FlowArrival, endNs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const at = Math.min(endNs, this.nowNs());
    if (at > this.sim.now) this.sim.run(at);
    const e: FlowEndEvent = {
      flow: f.id,
      src: f.src,
      dst: f.dst,
      sizeBytes: f.sizeBytes,
      startNs: f.startNs,
      endNs: Math.max(endNs, this.sim.now),
      tag: f.tag,
    };
    for (const fn of this.endListeners) fn(e);
    this.pump();
  }

  /** The workload's flows: into the ledger, then to the sender's agent (a response to the callee's). */
  startFlow(spec: FlowSpec): number {
    if (this.stopped) return -1;
    const id = this.nextId++;
    const application = spec.application ?? "";
    const f: FlowArrival = {
      id,
      src: spec.src,
      dst: spec.dst,
      sizeBytes: spec.sizeBytes,
      startNs: this.sim.now,
      tag: spec.tag ?? 0,
      application,
    };
    const port = spec.port ?? this.opts.ports[application];
    const protocol = spec.protocol ?? "tcp";
    this.ledger.add(f, port === undefined ? { protocol } : { protocol, port });
    const bytes = emulatedBytes(spec.sizeBytes, this.settings);
    const ex = spec.exchange;
    if (ex !== undefined && ex !== "request")
      this.agents.respond(spec.src, { request: ex.responseTo, id, bytes, startNs: f.startNs });
    else {
      if (port === undefined)
        throw new EmulationError(`live applications: application ${application} has no port`);
      this.agents.send(spec.src, {
        id,
        dst: this.plan.nodes[spec.dst]!.address,
        port,
        bytes,
        startNs: f.startNs,
        call: ex === "request",
        protocol,
      });
    }
    return id;
  }
}
