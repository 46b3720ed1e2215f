/**
 * The control driver: one engine-neutral loop that runs a {@link Policy} against an engine. The engine supplies a
 * {@link Clock} (simulated time: the simulator's event queue; or wall time scaled to simulated ns: the emulator's
 * ticks) and a {@link DataPlane} (link state, default-route reconvergence, the interval's observation, which pairs
 * a failure hits); the driver does the rest, the same way in every engine:
 *
 * - a control step every `intervalNs` up to `endNs`: the observation of the interval since the last step, then
 *   `policy.decide`; after `endNs` the engine drains without control;
 * - scheduled link failures and repairs at their instants: the pairs with active flows over a failing link are
 *   recorded as affected, the link's state changes, default routes reconverge `convergenceDelayNs` later (at once
 *   when 0), and the policy's `onLinkDown` / `onLinkUp` hooks run and are awaited before time moves on. A hook sees
 *   the last control step's observation, or before the first step a peek at the interval so far (a peek consumes
 *   nothing: the next step still sees the whole interval's traffic, probes and mirror tallies);
 * - time to recover: an affected pair recovers at the first instant none of its active flows is stalled on a down
 *   link (checked when the data plane moves flows, after reconvergence, after hooks and after every control step,
 *   so its resolution is that of those instants).
 *
 * Decisions and time. When the clock stops for decisions (the simulator), simulated time stands still while a
 * policy decides (an LSTM forecast is asynchronous), so link events come between decisions. When it does not (the
 * emulator: the network runs on), a step that comes while the policy still decides the previous one is skipped
 * ({@link ControlDriver.skippedSteps}), and a link event does not wait for the decision in progress: the link goes
 * down (or up) at its instant, its reconvergence comes `convergenceDelayNs` after it, and the policy's hook runs at
 * once, beside the decision (a real link does not wait for its controller, and a failover that waited for an apply
 * or a rollback of seconds would come that late). Such a policy's hook and `decide` may therefore interleave at
 * their awaits; a hook sees the last step's observation, which does not show what the decision in progress changed.
 */
import type { Topology } from "../../sim/substrate/topology.ts";
import type { ControlPlane, Observation, Policy } from "../policies/types.ts";

/**
 * What a degraded link offers instead of its nominal capacity and delay (the config's `state: degraded`): the
 * engines apply it from the event's instant until the link's next `up` event restores the nominal values.
 */
export interface LinkQuality {
  /** Capacity, bits/s (> 0). */
  capacityBps: number;
  /** One-way propagation delay, integer ns (>= 0). */
  delayNs: number;
  /** Fraction of packets lost on the link, in [0, 1). What it means per engine: the engines' DataPlane docs. */
  loss: number;
}

/** A link state change the driver applies and reports to the policy. */
export interface ScheduledLinkEvent {
  /** Simulated time, integer ns. */
  atNs: number;
  /** Directed link indices (both directions of a cable). */
  links: readonly number[];
  up: boolean;
  /**
   * Present for a degradation (`up` is then true): the links stay up with this quality. A later `up` event restores
   * their nominal quality. No policy hook runs and routes do not reconverge (a degraded link is still up).
   */
  quality?: LinkQuality;
}

/** How long one pair took to recover from a failure. */
export interface RecoveryRecord {
  /** The failed link(s), by id. */
  links: string[];
  src: string;
  dst: string;
  downNs: number;
  /** Time from the failure to recovery, ns; null when the pair had not recovered by the end of the run. */
  recoveryNs: number | null;
}

/**
 * An engine's time, in simulated integer ns. The simulator runs its event queue; the emulator waits for the wall
 * clock (simulated time / time compression) and does its periodic work (counters, samples) on the way.
 */
export interface Clock {
  /** Now, simulated ns. */
  readonly nowNs: number;
  /**
   * Whether time stands still while a policy decides (the simulator). When false (the emulator), time runs on
   * during decisions.
   */
  readonly stopsForDecisions: boolean;
  /** Calls `fn` at `atNs` (>= now), after the engine's events already scheduled for that instant. */
  at(atNs: number, fn: () => void): void;
  /**
   * Moves time on to `untilNs` (the simulator: runs every event up to and including it). Returns earlier, at the
   * instant of the callback, when a callback of {@link at} called {@link interrupt}.
   * @returns false when the engine ended the run early (the emulator's run was aborted): drive no further.
   */
  advance(untilNs: number): Promise<boolean>;
  /**
   * After the last control step: lets the engine finish what is in flight (the simulator: runs until no event is
   * pending; the emulator: until the flows finished or its drain limit). Returns earlier on {@link interrupt}.
   * @returns false when the engine ended the run early.
   */
  drain(): Promise<boolean>;
  /** Whether work is due at or before `tNs` that {@link advance} has not done yet (it stopped mid-instant). */
  hasDue(tNs: number): boolean;
  /** Makes the running {@link advance} or {@link drain} return after the current callback. */
  interrupt(): void;
}

/** What {@link DataPlane.observe} contributes to an {@link Observation}: everything but time and node ids. */
export type IntervalObservation = Omit<Observation, "timeNs" | "intervalNs" | "nodes">;

/**
 * An engine's network as the driver needs it. Pairs are indexed `src * nodeCount + dst` over the topology's node
 * indices; links are the topology's directed link indices.
 */
export interface DataPlane {
  readonly topology: Topology;
  /** Takes the links down or up (a down link carries nothing until it is up again). */
  setLinkState(links: readonly number[], up: boolean): void | Promise<void>;
  /**
   * Gives the links a degraded quality, or (null) their nominal capacity, delay and no loss again. Required by
   * runs with `degraded` events; an engine without it cannot run them.
   */
  setLinkQuality?(links: readonly number[], quality: LinkQuality | null): void | Promise<void>;
  /**
   * Default routes reconverge over the links that are up (`down` are the links down now): new flows, and active
   * flows as the engine's default routing moves them, take the new routes.
   */
  reconverge(down: ReadonlySet<number>): void | Promise<void>;
  /**
   * The interval [fromNs, toNs): per-pair arrivals (also per application, where the engine knows flows'
   * applications), per-link stats, virtual links, routes, VNA pools, probe results and mirror tallies. `consume`
   * false peeks: counters, traffic, probes and tallies keep accumulating for the next consuming call.
   */
  observe(fromNs: number, toNs: number, consume: boolean): IntervalObservation;
  /** Pairs with active flows crossing `link` now (directly or under a virtual link or reservation). */
  pairsOnLink(link: number): number[];
  /** Pairs with an active flow stalled on a down link (every copy of it crosses one). */
  stalledPairs(): number[];
  /** Registers a callback for whenever the data plane moves flows by itself (routes, virtual links taking effect). */
  onFlowsMoved?(listener: () => void): void;
}

export interface ControlDriverOptions {
  /** Control interval, integer ns > 0. */
  intervalNs: number;
  /** No control steps after this time, ns (the end of the traffic window). */
  endNs: number;
  failures?: readonly ScheduledLinkEvent[];
  /** After a failure or repair, default routes reconverge this long after it, ns; default 0 (at once). */
  convergenceDelayNs?: number;
}

/** Wall time of a run's control decisions (manifest.json), milliseconds rounded to 3 decimals. */
export interface DecisionTiming {
  /** Control steps whose decision completed. */
  steps: number;
  meanMs: number;
  /** 95th percentile (nearest rank). */
  p95Ms: number;
  maxMs: number;
  /** The sum over the run. */
  totalMs: number;
}

/** Mean, p95 (nearest rank), max and total of per-step decision times, ms; all 0 for no steps. */
export function decisionTiming(wallMs: readonly number[]): DecisionTiming {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  if (wallMs.length === 0) return { steps: 0, meanMs: 0, p95Ms: 0, maxMs: 0, totalMs: 0 };
  const sorted = [...wallMs].sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0);
  return {
    steps: sorted.length,
    meanMs: r(total / sorted.length),
    p95Ms: r(sorted[Math.ceil(0.95 * sorted.length) - 1]!),
    maxMs: r(sorted[sorted.length - 1]!),
    totalMs: r(total),
  };
}

type Pending = { kind: "link"; ev: ScheduledLinkEvent } | { kind: "reconverge" };

export class ControlDriver {
  readonly recoveries: RecoveryRecord[] = [];
  /** Control instants skipped because the policy still decided the previous one (clocks that do not stop). */
  skippedSteps = 0;
  /**
   * Wall milliseconds each control step's `decide` took (performance.now(), including awaited forecasts), in step
   * order. A measurement of the machine, never an input: nothing in a run reads it, so results stay deterministic;
   * it goes to manifest.json ({@link decisionTiming}), never to summary.json.
   */
  readonly decisionWallMs: number[] = [];
  private readonly down = new Set<number>();
  /** Links with a degraded quality until their next `up` event. */
  private readonly degraded = new Set<number>();
  private readonly open = new Map<number, RecoveryRecord>();
  private readonly nodeIds: readonly string[];
  private pending: Pending[] = [];
  private lastStepNs: number;
  private lastObs: Observation | undefined;
  private deciding: Promise<void> | null = null;
  private policyError: unknown;
  private hasPolicyError = false;
  private ended = false;

  constructor(
    private readonly clock: Clock,
    private readonly dataPlane: DataPlane,
    private readonly ctl: ControlPlane,
    private readonly policy: Policy,
    private readonly opts: ControlDriverOptions,
  ) {
    if (!Number.isSafeInteger(opts.intervalNs) || opts.intervalNs <= 0) {
      throw new RangeError(`control interval must be a positive integer of ns, got ${opts.intervalNs}`);
    }
    this.nodeIds = dataPlane.topology.nodes.map((n) => n.id).sort();
    this.lastStepNs = clock.nowNs;
    dataPlane.onFlowsMoved?.(() => this.checkRecovery());
    for (const ev of [...(opts.failures ?? [])].sort((a, b) => a.atNs - b.atNs)) {
      clock.at(ev.atNs, () => this.raise({ kind: "link", ev }));
    }
  }

  /** Whether the engine ended the run early (an aborted emulation). */
  get endedEarly(): boolean {
    return this.ended;
  }

  /**
   * Drives the run to its end: control steps every interval until `endNs`, then the engine drains without control.
   * Awaits asynchronous policy calls as the clock allows.
   * @throws what the policy's decide threw (when the clock does not stop for decisions, after the run stopped),
   *   unless the engine ended the run early.
   */
  async run(): Promise<void> {
    const { intervalNs, endNs } = this.opts;
    let next = this.clock.nowNs + intervalNs;
    while (next <= endNs && !this.stopping()) {
      if (!(await this.clock.advance(next))) this.ended = true;
      else await this.handlePending();
      if (this.stopping()) break;
      // Stopped early by a link event: resume towards `next` (also running what is left at `next` itself).
      if (this.clock.nowNs < next || this.clock.hasDue(next)) continue;
      await this.step(next);
      while (next <= this.clock.nowNs) next += intervalNs;
    }
    while (!this.stopping()) {
      if (!(await this.clock.drain())) this.ended = true;
      if (this.pending.length === 0) break;
      await this.handlePending();
    }
    await this.deciding;
    this.checkRecovery();
    if (this.hasPolicyError && !this.ended) throw this.policyError;
  }

  private stopping(): boolean {
    return this.ended || this.hasPolicyError;
  }

  /** The control step at `atNs`: the observation of the interval ending then, and the policy's decision. */
  private async step(atNs: number): Promise<void> {
    if (this.deciding !== null) {
      this.skippedSteps++;
      return;
    }
    const obs = this.observe(atNs, true);
    this.lastObs = obs;
    const t0 = performance.now();
    if (this.clock.stopsForDecisions) {
      await this.policy.decide(obs, this.ctl);
      this.decisionWallMs.push(performance.now() - t0);
      this.checkRecovery();
      return;
    }
    this.deciding = Promise.resolve()
      .then(() => this.policy.decide(obs, this.ctl))
      .then(() => void this.decisionWallMs.push(performance.now() - t0))
      .catch((e: unknown) => {
        this.policyError ??= e;
        this.hasPolicyError = true;
        this.clock.interrupt();
      })
      .finally(() => {
        this.deciding = null;
        this.checkRecovery();
      });
  }

  private observe(atNs: number, consume: boolean): Observation {
    const part = this.dataPlane.observe(this.lastStepNs, atNs, consume);
    // Everything the data plane observed (optional fields such as qos and firewall included), plus time and nodes.
    const obs: Observation = {
      timeNs: atNs,
      intervalNs: Math.max(1, atNs - this.lastStepNs),
      nodes: this.nodeIds,
      ...part,
    };
    if (consume) this.lastStepNs = atNs;
    return obs;
  }

  /** Called by the clock at a link event's or reconvergence's instant: the driver handles it before time goes on. */
  private raise(p: Pending): void {
    this.pending.push(p);
    this.clock.interrupt();
  }

  private async handlePending(): Promise<void> {
    while (this.pending.length > 0) {
      // No wait for a decision in progress (see the module doc): with a clock that stops for decisions there is none.
      const p = this.pending.shift()!;
      if (p.kind === "reconverge") await this.reconverge();
      else await this.applyLinkEvent(p.ev);
    }
  }

  private async applyLinkEvent(ev: ScheduledLinkEvent): Promise<void> {
    if (ev.quality) return this.degrade(ev.links, ev.quality);
    if (ev.up) {
      const restored = ev.links.filter((l) => this.degraded.has(l));
      for (const l of restored) this.degraded.delete(l);
      if (restored.length > 0) await this.qualityPlane().setLinkQuality(restored, null);
      if (!ev.links.some((l) => this.down.has(l))) return this.checkRecovery();
    }
    if (!ev.up) this.recordAffected(ev.links);
    await this.dataPlane.setLinkState(ev.links, ev.up);
    for (const l of ev.links) {
      if (ev.up) this.down.delete(l);
      else this.down.add(l);
    }
    const delay = this.opts.convergenceDelayNs ?? 0;
    if (delay > 0) this.clock.at(this.clock.nowNs + delay, () => this.raise({ kind: "reconverge" }));
    else await this.reconverge();
    this.checkRecovery();
    const obs = this.lastObs ?? this.observe(this.clock.nowNs, false);
    for (const l of ev.links) {
      const id = this.dataPlane.topology.links[l]!.id;
      if (ev.up) await this.policy.onLinkUp?.(id, obs, this.ctl, this.clock.nowNs);
      else await this.policy.onLinkDown?.(id, obs, this.ctl, this.clock.nowNs);
    }
    this.checkRecovery();
  }

  /** A degradation: the links stay up with `quality` (no reconvergence, no hook: see {@link ScheduledLinkEvent}). */
  private async degrade(links: readonly number[], quality: LinkQuality): Promise<void> {
    for (const l of links) this.degraded.add(l);
    await this.qualityPlane().setLinkQuality(links, quality);
    this.checkRecovery();
  }

  private qualityPlane(): DataPlane & Required<Pick<DataPlane, "setLinkQuality">> {
    const dp = this.dataPlane;
    if (!dp.setLinkQuality)
      throw new Error("this engine's data plane cannot degrade links (no setLinkQuality)");
    return dp as DataPlane & Required<Pick<DataPlane, "setLinkQuality">>;
  }

  private async reconverge(): Promise<void> {
    await this.dataPlane.reconverge(new Set(this.down));
    this.checkRecovery();
  }

  /** Opens a recovery record for every pair with active flows over the failing links (once per open failure). */
  private recordAffected(links: readonly number[]): void {
    const topo = this.dataPlane.topology;
    const ids = links.map((l) => topo.links[l]!.id);
    const affected = new Set<number>();
    for (const l of links) for (const p of this.dataPlane.pairsOnLink(l)) affected.add(p);
    const n = topo.nodeCount;
    for (const p of [...affected].sort((a, b) => a - b)) {
      if (this.open.has(p)) continue;
      const rec: RecoveryRecord = {
        links: ids,
        src: topo.nodes[Math.floor(p / n)]!.id,
        dst: topo.nodes[p % n]!.id,
        downNs: this.clock.nowNs,
        recoveryNs: null,
      };
      this.open.set(p, rec);
      this.recoveries.push(rec);
    }
  }

  private checkRecovery(): void {
    if (this.open.size === 0) return;
    const stalled = new Set(this.dataPlane.stalledPairs());
    for (const [p, rec] of [...this.open]) {
      if (stalled.has(p)) continue;
      rec.recoveryNs = this.clock.nowNs - rec.downNs;
      this.open.delete(p);
    }
  }
}

/** Mean time to recover over the pairs that recovered (ns; null when none) and how many did not. */
export function recoverySummary(recoveries: readonly RecoveryRecord[]): {
  meanRecoveryNs: number | null;
  unrecoveredPairs: number;
} {
  const recovered = recoveries.filter((r) => r.recoveryNs !== null);
  return {
    meanRecoveryNs: recovered.length
      ? recovered.reduce((a, r) => a + r.recoveryNs!, 0) / recovered.length
      : null,
    unrecoveredPairs: recoveries.length - recovered.length,
  };
}
