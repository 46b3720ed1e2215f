/**
 * The simulator's {@link DataPlane} for the control driver: the flow network behind the control plane.
 *
 * Observation: per-pair arrivals of the interval from the control plane's data plane, per-application arrivals from
 * the counter at the engine's flow sink (`applications`), per-link utilization from the transport's bit counters
 * (bits carried / (capacity x interval)), the link's delay now as `delayNs` (its configured delay unless degraded), a
 * degraded link's loss as `lossRate` (absent without loss), and `drops` only from a transport that
 * counts them (`DropCounting`; the fluid model's rates never exceed capacity and its optional fluid queues do not count
 * packets, so there the field is absent, not zero); virtual
 * links, routes, VNA pool, probe results, mirror tallies, QoS classes and the firewall's counters from the control
 * plane.
 *
 * Reconvergence: after a link change the default routing recomputes (`linksChanged`, returning whether flows move);
 * then either every pair's active flows are re-evaluated (`"all"`: a flow follows its pair's current route, pinned
 * or default; what control-loop policies run on) or only the flows crossing a down link move to their default path
 * (`"stalled"`: the static baselines' idealized IGP; flows keep their paths otherwise, also after a repair).
 */
import type { DataPlane, IntervalObservation, LinkQuality } from "../../models/control/driver.ts";
import type { LinkStats } from "../../models/policies/types.ts";
import type { ApplicationTrafficCounter } from "../../models/workload/application-traffic.ts";
import type { Topology } from "../substrate/topology.ts";
import { countsDrops, type DropCounting, hasLinkQuality, type Transport } from "../transport/transport.ts";
import type { SimControlPlane } from "./control-plane.ts";

export type Reconvergence = "all" | "stalled";

export interface SimDataPlaneOptions {
  /** The default routing's reaction to a link change: whether active flows move (default: they do). */
  linksChanged?: (down: ReadonlySet<number>) => boolean;
  /** Which active flows reconvergence moves (see the module doc); default "all". */
  reconvergence?: Reconvergence;
  /** Per-application arrivals, counted where flows enter (the engine's flow sink); without it none are observed. */
  applications?: ApplicationTrafficCounter;
}

export class SimDataPlane implements DataPlane {
  private readonly prevBits: Float64Array;
  private readonly curBits: Float64Array;
  /** Drop counters (previous and current readings) when the transport counts drops. */
  private readonly drops: { net: DropCounting; prev: Float64Array; cur: Float64Array } | null;
  /** Per link, the loss of its degraded quality now (0: none). */
  private readonly lossNow: Float64Array;

  constructor(
    private readonly net: Transport,
    private readonly ctl: SimControlPlane,
    private readonly opts: SimDataPlaneOptions = {},
  ) {
    const L = net.topology.linkCount;
    this.prevBits = net.linkBitsUntilNow(new Float64Array(L));
    this.curBits = new Float64Array(L);
    this.lossNow = new Float64Array(L);
    this.drops = countsDrops(net)
      ? { net, prev: net.linkDropsUntilNow(new Float64Array(L)), cur: new Float64Array(L) }
      : null;
  }

  get topology(): Topology {
    return this.net.topology;
  }

  setLinkState(links: readonly number[], up: boolean): void {
    for (const l of links) this.net.setLinkUp(l, up);
  }

  /** Degrades links (or restores their topology's capacity and delay, no loss) through the transport. */
  setLinkQuality(links: readonly number[], quality: LinkQuality | null): void {
    const net = this.net;
    if (!hasLinkQuality(net)) throw new Error("this transport model cannot degrade links");
    for (const l of links) {
      const nominal = net.topology.links[l]!;
      this.lossNow[l] = quality?.loss ?? 0;
      net.setLinkQuality(
        l,
        quality ?? { capacityBps: nominal.capacityBps, delayNs: nominal.delayNs, loss: 0 },
      );
    }
  }

  reconverge(down: ReadonlySet<number>): void {
    if (!(this.opts.linksChanged?.(down) ?? true)) return;
    if ((this.opts.reconvergence ?? "all") === "all") this.ctl.rerouteAll();
    else this.ctl.rerouteStalled(down);
  }

  observe(fromNs: number, toNs: number, consume: boolean): IntervalObservation {
    const topo = this.net.topology;
    const dt = Math.max(1, toNs - fromNs);
    this.net.linkBitsUntilNow(this.curBits);
    const drops = this.drops;
    drops?.net.linkDropsUntilNow(drops.cur);
    const links: LinkStats[] = topo.links.map((l) => {
      const bits = this.curBits[l.index]! - this.prevBits[l.index]!;
      return {
        id: l.id,
        src: topo.nodes[l.src]!.id,
        dst: topo.nodes[l.dst]!.id,
        up: this.net.isLinkUp(l.index),
        capacityBps: this.net.linkCapacity(l.index),
        utilization: bits / ((this.net.linkCapacity(l.index) * dt) / 1e9 || 1),
        ...(drops ? { drops: drops.cur[l.index]! - drops.prev[l.index]! } : {}),
        delayNs: hasLinkQuality(this.net) ? this.net.linkDelayNs(l.index) : l.delayNs,
        ...(this.lossNow[l.index]! > 0 ? { lossRate: this.lossNow[l.index]! } : {}),
        secure: l.secure,
        egressCostPerGB: l.egressCostPerGB,
      };
    });
    links.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // the Observation's order: by id
    if (consume) {
      this.prevBits.set(this.curBits);
      drops?.prev.set(drops.cur);
    }
    const apps = this.opts.applications;
    return {
      traffic: this.ctl.takeTraffic(consume),
      ...(apps ? { applications: apps.take(consume), applicationFlows: apps.takeOutcomes(consume) } : {}),
      links,
      virtualLinks: this.ctl.virtualLinks(),
      routes: this.ctl.routes(),
      vnaPool: this.ctl.vnaPool(),
      probes: this.ctl.takeProbes(consume),
      mirrors: this.ctl.takeMirrorStats(consume),
      qos: this.ctl.qosClasses(),
      firewall: this.ctl.takeFirewall(consume),
    };
  }

  pairsOnLink(link: number): number[] {
    return this.ctl.pairsOnLink(link);
  }

  stalledPairs(): number[] {
    return this.ctl.stalledPairs();
  }

  onFlowsMoved(listener: () => void): void {
    this.ctl.onReroute = listener;
  }
}
