/**
 * The flow ledger of an emulation run: what the traffic agents report about each scheduled flow (start, last byte
 * received, end or error), kept in simulated units. From it come the interval's per-pair and per-application
 * arrivals (the Observation's traffic and applications), the active flows per pair and per virtual link, and at
 * the end the flow records.
 *
 * A flow's path is where its pair's traffic went when it started (the emulation control plane's `pathNow`: its
 * virtual link, pinned route or default route). Its FCT runs from its scheduled start to its last byte at the
 * server, x timeCompression; its ideal FCT is the engines' one definition (sim/substrate/ideal-fct.ts), the same
 * as the simulator's for the same flow.
 *
 * A flow whose pair a firewall rule denies when it starts (the control plane's `admits`, which also counts it for
 * the Observation's `firewall`) is recorded as denied:
 * counted in the interval's traffic and in `denied` (and `flowErrors["denied by firewall"]`), never active, never
 * finished; what its agent reports afterwards (refused connections, retried until its deadline) is ignored. A
 * flow that starts while its pair is mirrored is a mirrored flow: its record says so and counts both copies' bytes,
 * and its end counts in {@link FlowLedger.mirroredEnded} (the Observation's mirror feedback); which copy finished
 * first is not observed per flow (`mirrorWon` stays false; emulate/mirror.ts counts first deliveries per segment).
 *
 * Live flows (a closed-loop workload's, emulate/live-applications.ts) join during the run ({@link FlowLedger.add}),
 * with what the firewall sees of them (their application's port and protocol); their last byte's arrival goes to
 * `onLiveEnd` as the flow's end in simulated ns, so the workload can take its next step; the ledger is done when
 * every flow so far ended and the workload has nothing more to start (`livePending`).
 */
import type {
  ApplicationFlowStats,
  ApplicationTraffic,
  NodePath,
  PairTraffic,
} from "../models/policies/types.ts";
import type { FlowMatchFields } from "../models/policies/verb-args.ts";
import { ApplicationTrafficCounter } from "../models/workload/application-traffic.ts";
import { type FlowArrival, TM_APPLICATION } from "../models/workload/flow-schedule.ts";
import { type ApplicationProfile, TrafficProfiler } from "../models/workload/profiler.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { IdealFct } from "../sim/substrate/ideal-fct.ts";
import type { Path } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import type { AgentReport } from "./agent.ts";
import type { EmulationControlPlane } from "./control-plane.ts";

export class FlowLedger {
  /** Wall clock's epoch (ns, hrtime) the agents start their schedules from; set when they start. */
  epoch: bigint | undefined;
  /** Flows that reported their start, that finished, and that failed at the agent. */
  started = 0;
  finished = 0;
  failed = 0;
  /** Flows a firewall rule denied at their start. */
  denied = 0;
  /**
   * Bytes of the flows refused: denied by a rule at their start, or refused on the wire (ECONNREFUSED), simulated
   * bytes (their sizes), as the simulator's firewall counts its refused flows' bytes.
   */
  refusedBytes = 0;
  /** Flows that failed at the agent (connection refused, reset), by error message. */
  readonly flowErrors: Record<string, number> = {};
  /** Lateness of each flow start behind its schedule, wall ms. */
  readonly startLateMs: number[] = [];
  /** Per flow that started, its agent's lateness behind the schedule, wall ns. */
  private readonly lateNsOf = new Map<number, number>();
  private readonly n: number;
  private readonly ids: readonly string[];
  private readonly sortedIds: readonly string[];
  private readonly byId: Map<number, FlowArrival>;
  /** Active flows per pair (src * n + dst) and per virtual link (flows that started while it intercepted their pair). */
  private readonly active: Int32Array;
  private readonly activeOnVl = new Map<string, number>();
  private readonly flowVl = new Map<number, string>();
  private readonly pathAtStart = new Map<number, Path>();
  /** Arrivals since the last consuming {@link traffic}, per pair. */
  private readonly pairBytes: Float64Array;
  private readonly pairFlows: Int32Array;
  private readonly appTraffic: ApplicationTrafficCounter;
  /** Flows whose start the agents reported, in report order. */
  private readonly startedFlows: FlowArrival[] = [];
  /** Per flow: wall ns (from the epoch) its last byte reached the server, and the client's own FCT. */
  private readonly recvAt = new Map<number, number>();
  private readonly clientFct = new Map<number, number>();
  private readonly deniedIds = new Set<number>();
  private readonly mirroredIds = new Set<number>();
  /** Mirrored flows that ended since the last {@link clearMirroredEnded}, per pair. */
  private readonly mirroredEndedByPair: Int32Array;
  private readonly ideal: IdealFct;
  /** Scheduled flows, then live ones in the order they joined. */
  private readonly flows: FlowArrival[];
  /** Live flows: what the firewall sees of each. */
  private readonly liveWire = new Map<number, FlowMatchFields>();
  /** A live flow's last byte arrived at `endNs` (simulated, from the epoch). */
  onLiveEnd: ((f: FlowArrival, endNs: number) => void) | null = null;
  /** Whether the live workload may still start flows. */
  livePending: () => boolean = () => false;

  constructor(
    private readonly topo: Topology,
    flows: readonly FlowArrival[],
    private readonly emuCtl: EmulationControlPlane,
    private readonly timeCompression: number,
  ) {
    this.flows = [...flows];
    this.n = topo.nodeCount;
    this.ids = topo.nodes.map((x) => x.id);
    this.sortedIds = [...this.ids].sort();
    this.byId = new Map(flows.map((f) => [f.id, f]));
    this.active = new Int32Array(this.n * this.n);
    this.pairBytes = new Float64Array(this.n * this.n);
    this.pairFlows = new Int32Array(this.n * this.n);
    this.appTraffic = new ApplicationTrafficCounter(this.ids);
    this.mirroredEndedByPair = new Int32Array(this.n * this.n);
    this.ideal = new IdealFct(topo);
  }

  /** Takes in one agent report. */
  readonly onReport = (rep: AgentReport): void => {
    const f = this.byId.get(rep.event === "listening" || rep.event === "done" ? -1 : rep.id);
    if (!f || this.deniedIds.has(f.id)) return;
    if (rep.event === "start") this.onStart(f, rep.lateNs);
    else if (rep.event === "recv") {
      if (this.epoch === undefined) return;
      const at = Number(BigInt(rep.atNs) - this.epoch);
      this.recvAt.set(f.id, at);
      if (this.liveWire.has(f.id)) this.onLiveEnd?.(f, Math.round(at * this.timeCompression));
    } else if (rep.event === "flow" || rep.event === "flow-error") {
      this.active[f.src * this.n + f.dst]!--;
      const vl = this.flowVl.get(f.id);
      if (vl !== undefined) {
        this.flowVl.delete(f.id);
        this.activeOnVl.set(vl, (this.activeOnVl.get(vl) ?? 1) - 1);
      }
      if (rep.event === "flow-error") {
        this.failed++;
        if (rep.error === "ECONNREFUSED") this.refusedBytes += f.sizeBytes;
        this.flowErrors[rep.error] = (this.flowErrors[rep.error] ?? 0) + 1;
        return;
      }
      this.finished++;
      this.clientFct.set(f.id, rep.fctNs);
      this.appTraffic.ended(f.application, Math.max(1, Math.round(rep.fctNs * this.timeCompression)));
      if (this.mirroredIds.has(f.id)) this.mirroredEndedByPair[f.src * this.n + f.dst]!++;
    }
  };

  private onStart(f: FlowArrival, lateNs: number): void {
    this.started++;
    const k = f.src * this.n + f.dst;
    this.pairBytes[k]! += f.sizeBytes;
    this.pairFlows[k]!++;
    this.appTraffic.count(f.application, f.src, f.dst, f.sizeBytes);
    this.startedFlows.push(f);
    const [src, dst] = [this.ids[f.src]!, this.ids[f.dst]!];
    if (!this.emuCtl.admits(src, dst, f.sizeBytes, this.wireFields(f))) {
      this.denied++;
      this.refusedBytes += f.sizeBytes;
      this.deniedIds.add(f.id);
      this.appTraffic.refused(f.application);
      this.flowErrors["denied by firewall"] = (this.flowErrors["denied by firewall"] ?? 0) + 1;
      return;
    }
    this.active[k]!++;
    if (this.emuCtl.mirrors.of(src, dst)) this.mirroredIds.add(f.id);
    const now = this.emuCtl.pathNow(src, dst);
    if (now.virtualLink !== null) {
      this.flowVl.set(f.id, now.virtualLink);
      this.activeOnVl.set(now.virtualLink, (this.activeOnVl.get(now.virtualLink) ?? 0) + 1);
    }
    this.pathAtStart.set(f.id, this.linkPath(now.path ?? []));
    this.startLateMs.push(lateNs / 1e6);
    this.lateNsOf.set(f.id, lateNs);
  }

  /**
   * When each flow that started really started: flow id -> its scheduled start plus its agent's lateness (the agent
   * reports it as it opens the connection), simulated ns. What the kernel's conntrack stamps a connection with.
   */
  actualStarts(): Map<number, number> {
    const c = this.timeCompression;
    const out = new Map<number, number>();
    for (const [id, lateNs] of this.lateNsOf)
      out.set(id, this.byId.get(id)!.startNs + Math.max(0, Math.round(lateNs * c)));
    return out;
  }

  /**
   * Adds a live flow (its id unique among the ledger's flows) before its agent is told to send it; `wire` is what
   * the firewall sees of it (its exchange's server port and protocol).
   */
  add(f: FlowArrival, wire: FlowMatchFields): void {
    this.flows.push(f);
    this.byId.set(f.id, f);
    this.liveWire.set(f.id, wire);
  }

  /** Flows so far: scheduled and live. */
  get flowCount(): number {
    return this.flows.length;
  }

  /**
   * What the firewall sees of a flow on the wire: a live flow's own fields, else TCP to its application's port
   * (emulate/application-ports.ts).
   */
  private wireFields(f: FlowArrival): FlowMatchFields {
    const live = this.liveWire.get(f.id);
    if (live) return live;
    const port = this.emuCtl.applicationPort(f.application);
    return port === undefined ? { protocol: "tcp" } : { protocol: "tcp", port };
  }

  /** Whether every scheduled flow finished or failed. */
  get done(): boolean {
    return this.finished + this.failed + this.denied >= this.flows.length && !this.livePending();
  }

  /** Flows transferring now, all pairs. */
  activeFlows(): number {
    return this.active.reduce((a, b) => a + b, 0);
  }

  /** Active flows that started on virtual link `id`. */
  activeOnVirtualLink(id: string): number {
    return this.activeOnVl.get(id) ?? 0;
  }

  /** Pairs (src * n + dst) with active flows. */
  activePairs(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.active.length; k++) if (this.active[k]! > 0) out.push(k);
    return out;
  }

  /**
   * Per-pair arrivals since the last consuming call, sorted by (src, dst) id, pairs without arrivals omitted;
   * `consume` false leaves them counted.
   */
  traffic(consume: boolean): PairTraffic[] {
    const out: PairTraffic[] = [];
    for (const s of this.sortedIds)
      for (const d of this.sortedIds) {
        const k = this.topo.node(s) * this.n + this.topo.node(d);
        if (this.pairFlows[k]! > 0 || this.pairBytes[k]! > 0)
          out.push({ src: s, dst: d, bytes: this.pairBytes[k]!, flows: this.pairFlows[k]! });
      }
    if (consume) {
      this.pairBytes.fill(0);
      this.pairFlows.fill(0);
    }
    return out;
  }

  /**
   * Per-application arrivals since the last consuming call, by the scheduled flows' applications, sorted by
   * (application, src, dst); `consume` false leaves them counted.
   */
  applicationTraffic(consume: boolean): ApplicationTraffic[] {
    return this.appTraffic.take(consume);
  }

  /** Per-application completions (client-measured FCT, simulated ns) and refusals since the last consuming call. */
  applicationFlows(consume: boolean): ApplicationFlowStats[] {
    return this.appTraffic.takeOutcomes(consume);
  }

  /**
   * The started flows' profile per application (models/workload/profiler.ts) over intervals of `intervalNs` from 0:
   * each flow counted at its scheduled start (simulated ns), as the simulator's profiler counts it at arrival.
   * Applications: "tm" first, then the others by name.
   */
  profile(intervalNs: number): ApplicationProfile {
    const sim = new Simulator();
    const trace = new TraceBus();
    const names = [...new Set(this.startedFlows.map((f) => f.application))].filter(
      (a) => a !== TM_APPLICATION,
    );
    const applications = [TM_APPLICATION, ...names.sort()];
    const index = new Map(applications.map((a, i) => [a, i]));
    const byId = new Map<number, number>();
    const profiler = new TrafficProfiler(sim, trace, {
      intervalNs,
      pairs: applications,
      classify: (f) => byId.get(f.flow) ?? -1,
      boundaryEvents: false,
    });
    for (const f of [...this.startedFlows].sort((a, b) => a.id - b.id)) {
      byId.set(f.id, index.get(f.application)!);
      sim.scheduleAt(f.startNs, () =>
        trace.emit("flowStart", {
          timeNs: f.startNs,
          flow: f.id,
          src: f.src,
          dst: f.dst,
          sizeBytes: f.sizeBytes,
          tag: f.tag,
        }),
      );
    }
    sim.run();
    profiler.flush();
    return { applications, intervals: profiler.intervals };
  }

  /** Mirrored flows of the pair that ended since the last {@link clearMirroredEnded}. */
  mirroredEnded(src: string, dst: string): number {
    return this.mirroredEndedByPair[this.topo.node(src) * this.n + this.topo.node(dst)]!;
  }

  clearMirroredEnded(): void {
    this.mirroredEndedByPair.fill(0);
  }

  /** Waits (at most 1 s) for the servers' "recv" lines of the last finished flows, which may still be in the pipes. */
  async settle(): Promise<void> {
    for (let waited = 0; this.recvAt.size < this.finished && waited < 1000; waited += 20)
      await new Promise((res) => setTimeout(res, 20));
  }

  /** Emits a `flowEnd` record for every finished flow, in schedule order, in simulated units. */
  emitRecords(trace: TraceBus): void {
    const c = this.timeCompression;
    for (const f of this.flows) {
      const client = this.clientFct.get(f.id);
      if (client === undefined) continue;
      const recv = this.recvAt.get(f.id);
      const wallFct = recv !== undefined ? recv - f.startNs / c : client;
      const fctNs = Math.max(1, Math.round(wallFct * c));
      const path = this.pathAtStart.get(f.id) ?? []; // every finished flow reported its start
      const ideal = this.ideal.ns(f.src, f.dst, f.sizeBytes);
      trace.emit("flowEnd", {
        flow: f.id,
        src: f.src,
        dst: f.dst,
        sizeBytes: f.sizeBytes,
        startNs: f.startNs,
        endNs: f.startNs + fctNs,
        fctNs,
        idealFctNs: ideal,
        slowdown: ideal > 0 ? fctNs / ideal : 1,
        path,
        tag: f.tag,
        wireBytes: this.mirroredIds.has(f.id) ? 2 * f.sizeBytes : f.sizeBytes,
        mirrored: this.mirroredIds.has(f.id),
        mirrorWon: false,
      });
    }
  }

  private linkPath(nodes: NodePath): Path {
    const out: number[] = [];
    for (let i = 1; i < nodes.length; i++) {
      const l = this.topo.linksBetween(this.topo.node(nodes[i - 1]!), this.topo.node(nodes[i]!))[0];
      if (l !== undefined) out.push(l);
    }
    return out;
  }
}
