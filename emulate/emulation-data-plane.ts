/**
 * The emulation's {@link DataPlane} for the control driver: link state as devices going down and up at both ends of
 * a cable, reconvergence as the substrate's least-delay routes recomputed (plus a static baseline's pinned routes),
 * the interval's observation from the link counters and the flow ledger, and which pairs a failure hits.
 *
 * Degraded links: capacity through htb (or the relay's pacing), delay and loss through the userspace wire's relay,
 * reconfigured while it runs (emulate/link-quality.ts). A degradation takes effect once its commands ran (three
 * per direction, the directions in parallel: a few hundred ms on a loaded machine), so flows starting within that
 * time after the event still see the nominal link.
 *
 * Observation: per-pair and per-application bytes and flows from the agents' `start` reports (a flow's application
 * from the schedule); per-link utilization and drops from the egress counters over the time between the readings
 * that bound the interval; `delayNs` as measured by the link
 * check (min RTT / 2, simulated ns) where it ran, else configured; a degraded link's configured capacity, delay and
 * loss (`lossRate`) while it is degraded (the link check ran before); virtual links (rates in simulated bits/s),
 * routes and VNA pools from the control plane; probe results completed and mirror counters as last read
 * (emulate/probe.ts, emulate/mirror.ts), in simulated units.
 *
 * Recovery: a pair is on a link, or stalled, by where its traffic goes now (`pathNow`: virtual link, pinned route or
 * default route), since a TCP flow follows its pair's current route; checked at the driver's instants (ticks). Both
 * ways: a flow's segments take the pair's path and its ACKs (and a call's response) the reverse pair's, so a pair is
 * on a link when either crosses it and stalled while either has no route or crosses a down link (the simulator's
 * flows need only their own direction: a policy that moves only a pair's own direction recovers it there at once,
 * here when the return direction's default route reconverges).
 */

import type { DataPlane, IntervalObservation, LinkQuality } from "../models/control/driver.ts";
import type { LinkStats, NodePath } from "../models/policies/types.ts";
import type { AppliedLinkEvent } from "../sim/engine/records.ts";
import type { RoutingPolicy } from "../sim/engine/types.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import type { EmulationControlPlane } from "./control-plane.ts";
import type { LinkCounters } from "./counters.ts";
import type { FlowLedger } from "./flow-ledger.ts";
import { parallel } from "./runner.ts";
import type { ScaledControlPlane } from "./scaled-control-plane.ts";
import { pinStaticRoutes } from "./static-routes.ts";

export interface EmulationDataPlaneParts {
  /** The simulated topology (ids, indices, nominal capacities and delays). */
  topology: Topology;
  emuCtl: EmulationControlPlane;
  ctl: ScaledControlPlane;
  counters: LinkCounters;
  ledger: FlowLedger;
  /** Measured one-way delay per link id, simulated ns. */
  measuredDelayNs: ReadonlyMap<string, number>;
  /** A static baseline's routing, pinned again after reconvergence when it says flows move; null otherwise. */
  staticRouting: RoutingPolicy | null;
  /** Simulated to emulated units (emulate/scaling.ts): rates x rateScale, delays / timeCompression. */
  scale: { rateScale: number; timeCompression: number };
  /** The run's clock, simulated ns since the epoch (wall time x timeCompression): when link events really happened. */
  runNs: () => number;
}

export class EmulationDataPlane implements DataPlane {
  readonly topology: Topology;
  private readonly isUp: Uint8Array;
  private readonly prevBytes: Float64Array;
  private readonly prevDrops: Float64Array;
  private prevReadNs = 0;
  /** Every link state change, in order. */
  readonly linkEvents: AppliedLinkEvent[] = [];
  /** When each reconvergence's default routes were in, on the run's clock (simulated ns). */
  readonly reconvergedNs: number[] = [];
  /** Per link, its degraded quality in simulated units (absent: nominal). */
  private readonly quality = new Map<number, LinkQuality>();

  constructor(private readonly p: EmulationDataPlaneParts) {
    this.topology = p.topology;
    this.isUp = new Uint8Array(p.topology.linkCount).fill(1);
    this.prevBytes = Float64Array.from(p.counters.baseBytes);
    this.prevDrops = new Float64Array(p.topology.linkCount);
  }

  /** Takes the cables of `links` down or up (each cable once, by its lower-index direction's id). */
  async setLinkState(links: readonly number[], up: boolean): Promise<void> {
    const topo = this.topology;
    const cables = new Set<string>();
    for (const l of links) {
      this.isUp[l] = up ? 1 : 0;
      const link = topo.links[l]!;
      cables.add(link.reverse >= 0 ? topo.links[Math.min(l, link.reverse)]!.id : link.id);
    }
    for (const id of [...cables].sort()) await this.p.emuCtl.setLinkState(id, up);
    this.linkEvents.push({
      links: links.map((l) => topo.links[l]!.id),
      up,
      appliedNs: Math.round(this.p.runNs()),
    });
  }

  /**
   * Degrades directed links (or restores their topology's capacity and delay, no loss), scaled to emulated units:
   * htb's rate at the sending end, the wire relay's delay and loss at the receiving end (emulate/link-quality.ts).
   */
  async setLinkQuality(links: readonly number[], quality: LinkQuality | null, dryRun = false): Promise<void> {
    const { rateScale, timeCompression } = this.p.scale;
    // Directions in parallel: each is a few commands, and a degradation takes effect only once they ran.
    await parallel(links, async (l) => {
      const link = this.topology.links[l]!;
      const q = quality ?? { capacityBps: link.capacityBps, delayNs: link.delayNs, loss: 0 };
      if (!dryRun) {
        if (quality) this.quality.set(l, quality);
        else this.quality.delete(l);
      }
      const emulated = {
        capacityBps: q.capacityBps * rateScale,
        delayNs: Math.round(q.delayNs / timeCompression),
        loss: q.loss,
      };
      await this.p.emuCtl.setLinkQuality(link.id, emulated, dryRun);
    });
  }

  /** Checks, before the run, that every degradation among `events` can be emulated here (throws as it would). */
  async checkDegradations(
    events: readonly { links: readonly number[]; quality?: LinkQuality }[],
  ): Promise<void> {
    for (const ev of events) if (ev.quality) await this.setLinkQuality(ev.links, ev.quality, true);
  }

  /** Default routes reconverge; a static baseline's own routes follow its routing's reaction to the change. */
  async reconverge(down: ReadonlySet<number>): Promise<void> {
    await this.p.emuCtl.reconverge();
    const routing = this.p.staticRouting;
    if (routing?.linksChanged?.(down))
      await pinStaticRoutes(this.topology, routing, this.p.emuCtl, this.p.ctl);
    this.reconvergedNs.push(Math.round(this.p.runNs()));
  }

  observe(fromNs: number, toNs: number, consume: boolean): IntervalObservation {
    void fromNs; // utilization is over the readings' own instants, which bound the interval
    void toNs;
    const verbs = this.p.ctl.observeVerbs(consume, (src, dst) => this.p.ledger.mirroredEnded(src, dst));
    if (consume) this.p.ledger.clearMirroredEnded();
    return {
      traffic: this.p.ledger.traffic(consume),
      applications: this.p.ledger.applicationTraffic(consume),
      applicationFlows: this.p.ledger.applicationFlows(consume),
      links: this.linkStats(consume),
      virtualLinks: this.p.ctl.virtualLinks(),
      routes: this.p.emuCtl.routes(),
      vnaPool: this.p.emuCtl.vnaPool(),
      ...verbs,
    };
  }

  /** Per-link stats over the readings since the last consuming call, sorted by link id. */
  private linkStats(consume: boolean): LinkStats[] {
    const { counters, measuredDelayNs } = this.p;
    const topo = this.topology;
    const last = counters.latest();
    const dtRead = Math.max(1, last.t - this.prevReadNs);
    const links: LinkStats[] = topo.links.map((l) => {
      const q = this.quality.get(l.index);
      const cap = q?.capacityBps ?? l.capacityBps;
      const drops = counters.drops[l.index]! - counters.baseDrops[l.index]!;
      const st: LinkStats = {
        id: l.id,
        src: topo.nodes[l.src]!.id,
        dst: topo.nodes[l.dst]!.id,
        up: this.isUp[l.index] === 1,
        capacityBps: cap,
        utilization:
          ((last.bytes[l.index]! - this.prevBytes[l.index]!) * counters.bitsScale) / ((cap * dtRead) / 1e9),
        drops: drops - this.prevDrops[l.index]!,
        delayNs: q?.delayNs ?? measuredDelayNs.get(l.id) ?? l.delayNs,
        ...(q && q.loss > 0 ? { lossRate: q.loss } : {}),
        secure: l.secure,
        egressCostPerGB: l.egressCostPerGB,
      };
      if (consume) this.prevDrops[l.index] = drops;
      return st;
    });
    links.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (consume) {
      this.prevBytes.set(last.bytes);
      this.prevReadNs = last.t;
    }
    return links;
  }

  pairsOnLink(link: number): number[] {
    const l = this.topology.links[link]!;
    const [u, v] = [this.topology.nodes[l.src]!.id, this.topology.nodes[l.dst]!.id];
    return this.activePairsWhere((path) => path !== null && crosses(path, u, v));
  }

  stalledPairs(): number[] {
    const topo = this.topology;
    const down = topo.links.filter((l) => this.isUp[l.index] === 0);
    return this.activePairsWhere(
      (path) =>
        path === null || down.some((l) => crosses(path, topo.nodes[l.src]!.id, topo.nodes[l.dst]!.id)),
    );
  }

  /** Active pairs whose path now, or whose reverse pair's path now (the ACKs' and responses'), passes `test`. */
  private activePairsWhere(test: (path: NodePath | null) => boolean): number[] {
    const n = this.topology.nodeCount;
    const ids = this.topology.nodes.map((x) => x.id);
    const path = (src: string, dst: string) => this.p.emuCtl.pathNow(src, dst).path;
    return this.p.ledger.activePairs().filter((k) => {
      const [src, dst] = [ids[Math.floor(k / n)]!, ids[k % n]!];
      return test(path(src, dst)) || test(path(dst, src));
    });
  }
}

/** Whether `path` takes the hop u -> v. */
function crosses(path: NodePath, u: string, v: string): boolean {
  for (let i = 1; i < path.length; i++) if (path[i - 1] === u && path[i] === v) return true;
  return false;
}
