/**
 * The simulator's control loop: every control interval it builds an {@link Observation} (per-pair arrivals of the
 * interval from the control plane's data plane, per-link utilization from the flow network's bit counters,
 * virtual links, routes, VNA pool, probe results, mirror tallies) and calls the policy's `decide`; on link
 * failures and repairs it calls `onLinkDown` / `onLinkUp`.
 *
 * Policies may be asynchronous (an LSTM forecast is): the loop drives the simulator in steps, `sim.run(t)` up to
 * the next control instant or failure event, then awaits the policy, then continues, so simulated time never
 * advances while a policy thinks. Decision time is not simulated time (a real controller's computation delay is
 * part of the actions' setup latencies).
 *
 * Time to recover: when a link goes down, the pairs with active flows over it are affected; a pair recovers at
 * the first instant no active flow of it is stalled on a down link (checked whenever the data plane moves flows
 * and at every control instant, so the resolution is that of those instants).
 */
import type { LinkStats, Observation, Policy } from "../../models/policies/types.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { FlowNetwork } from "../transport/flow-network.ts";
import type { SimControlPlane } from "./control-plane.ts";

/** A link state change the loop applies and reports to the policy. */
export interface ScheduledLinkEvent {
  atNs: number;
  /** Directed link indices (both directions of a cable). */
  links: readonly number[];
  up: boolean;
}

export interface RecoveryRecord {
  /** The failed link(s), by id. */
  links: string[];
  src: string;
  dst: string;
  downNs: number;
  /** Time from the failure to recovery, ns; null when the pair had not recovered by the end of the run. */
  recoveryNs: number | null;
}

export interface ControlLoopOptions {
  /** Control interval, integer ns > 0. */
  intervalNs: number;
  /** No control steps after this time, ns (the end of the traffic window). */
  endNs: number;
  failures?: readonly ScheduledLinkEvent[];
  /** After a failure, default routes reconverge (active flows move) this long after it; default 0 (at once). */
  convergenceDelayNs?: number;
  /** Called after a failure or repair so the default routing can recompute (returns whether to move flows). */
  onLinksChanged?: (down: ReadonlySet<number>) => boolean;
}

export class ControlLoop {
  private readonly prevBits: Float64Array;
  private readonly curBits: Float64Array;
  private lastStepNs: number;
  private lastObs: Observation | undefined;
  private pendingHooks: { link: string; up: boolean }[] = [];
  private readonly down = new Set<number>();
  private readonly open = new Map<number, RecoveryRecord>();
  readonly recoveries: RecoveryRecord[] = [];
  readonly decisionSeconds: number[] = [];
  /** Node ids, sorted (the topology does not change). */
  private readonly nodeIds: readonly string[];

  constructor(
    private readonly sim: Simulator,
    private readonly net: FlowNetwork,
    private readonly ctl: SimControlPlane,
    private readonly policy: Policy,
    private readonly opts: ControlLoopOptions,
  ) {
    if (!Number.isSafeInteger(opts.intervalNs) || opts.intervalNs <= 0) {
      throw new RangeError(`control interval must be a positive integer of ns, got ${opts.intervalNs}`);
    }
    const L = net.topology.linkCount;
    this.nodeIds = net.topology.nodes.map((n) => n.id).sort();
    this.prevBits = net.linkBitsUntilNow(new Float64Array(L));
    this.curBits = new Float64Array(L);
    this.lastStepNs = sim.now;
    ctl.onReroute = () => this.checkRecovery();
    for (const ev of [...(opts.failures ?? [])].sort((a, b) => a.atNs - b.atNs)) {
      sim.scheduleAt(ev.atNs, () => this.applyLinkEvent(ev));
    }
  }

  /**
   * Runs the simulation to completion: control steps every interval until `endNs`, then the remaining flows drain
   * without control. Awaits asynchronous policy calls between steps.
   */
  async run(): Promise<void> {
    const { intervalNs, endNs } = this.opts;
    let next = this.sim.now + intervalNs;
    while (next <= endNs) {
      this.sim.run(next);
      await this.runHooks();
      // Stopped early by a failure event: resume towards `next` (also running what is left at `next` itself).
      if (this.sim.now < next || this.sim.nextEventTime <= next) continue;
      await this.step();
      next += intervalNs;
    }
    for (;;) {
      this.sim.run();
      if (this.pendingHooks.length === 0) break;
      await this.runHooks();
    }
    this.checkRecovery();
    this.ctl.finish();
  }

  /** Builds the observation of the interval ending now and lets the policy decide. */
  async step(): Promise<void> {
    const obs = this.observe();
    this.lastObs = obs;
    const t0 = process.hrtime.bigint();
    await this.policy.decide(obs, this.ctl);
    this.decisionSeconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    this.checkRecovery();
  }

  /** The observation of [last step, now). */
  observe(): Observation {
    const now = this.sim.now;
    const topo = this.net.topology;
    const dt = Math.max(1, now - this.lastStepNs);
    this.net.linkBitsUntilNow(this.curBits);
    const links: LinkStats[] = topo.links.map((l) => {
      const bits = this.curBits[l.index]! - this.prevBits[l.index]!;
      return {
        id: l.id,
        src: topo.nodes[l.src]!.id,
        dst: topo.nodes[l.dst]!.id,
        up: this.net.isLinkUp(l.index),
        capacityBps: this.net.linkCapacity(l.index),
        utilization: bits / ((this.net.linkCapacity(l.index) * dt) / 1e9 || 1),
        drops: 0,
        delayNs: l.delayNs,
      };
    });
    links.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // the Observation's order: by id
    this.prevBits.set(this.curBits);
    this.lastStepNs = now;
    return {
      timeNs: now,
      intervalNs: dt,
      nodes: this.nodeIds,
      traffic: this.ctl.takeTraffic(),
      links,
      virtualLinks: this.ctl.virtualLinks(),
      routes: this.ctl.routes(),
      vnaPool: this.ctl.vnaPool(),
      probes: this.ctl.takeProbes(),
      mirrors: this.ctl.takeMirrorStats(),
    };
  }

  private applyLinkEvent(ev: ScheduledLinkEvent): void {
    const topo = this.net.topology;
    const ids = ev.links.map((l) => topo.links[l]!.id);
    if (!ev.up) {
      const affected = new Set<number>();
      for (const l of ev.links) for (const p of this.ctl.pairsOnLink(l)) affected.add(p);
      for (const p of [...affected].sort((a, b) => a - b)) {
        if (this.open.has(p)) continue;
        const n = topo.nodeCount;
        const rec: RecoveryRecord = {
          links: ids,
          src: topo.nodes[Math.floor(p / n)]!.id,
          dst: topo.nodes[p % n]!.id,
          downNs: this.sim.now,
          recoveryNs: null,
        };
        this.open.set(p, rec);
        this.recoveries.push(rec);
      }
    }
    for (const l of ev.links) {
      this.net.setLinkUp(l, ev.up);
      if (ev.up) this.down.delete(l);
      else this.down.add(l);
    }
    const reconverge = () => {
      if (this.opts.onLinksChanged?.(new Set(this.down)) ?? true) this.ctl.rerouteAll();
    };
    const delay = this.opts.convergenceDelayNs ?? 0;
    if (delay > 0) this.sim.schedule(delay, reconverge);
    else reconverge();
    for (const id of ids) this.pendingHooks.push({ link: id, up: ev.up });
    this.checkRecovery();
    this.sim.stop(); // let run() await the policy's failure hooks before time moves on
  }

  private async runHooks(): Promise<void> {
    while (this.pendingHooks.length > 0) {
      const hooks = this.pendingHooks;
      this.pendingHooks = [];
      const obs = this.lastObs ?? this.observeWithoutConsuming();
      for (const h of hooks) {
        if (h.up) await this.policy.onLinkUp?.(h.link, obs, this.ctl);
        else await this.policy.onLinkDown?.(h.link, obs, this.ctl);
      }
      this.checkRecovery();
    }
  }

  /** An observation for hooks before the first control step (it does not reset the interval counters). */
  private observeWithoutConsuming(): Observation {
    const saved = Float64Array.from(this.prevBits);
    const last = this.lastStepNs;
    const obs = this.observe();
    this.prevBits.set(saved);
    this.lastStepNs = last;
    return obs;
  }

  private checkRecovery(): void {
    if (this.open.size === 0) return;
    const stalled = new Set(this.ctl.stalledPairs());
    for (const [p, rec] of [...this.open]) {
      if (stalled.has(p)) continue;
      rec.recoveryNs = this.sim.now - rec.downNs;
      this.open.delete(p);
    }
  }
}
