/**
 * The simulator's {@link ControlPlane}: the controller verbs of the verb table (models/policies/verbs.ts) acting
 * on a {@link Transport} (sim/transport/transport.ts), plus the data plane that decides where each new flow goes.
 * Verbs that need a capability the configured transport lacks (reservations for `rateBps`, mirrors, QoS classes,
 * probes) fail with UnsupportedActionError naming it; the config check refuses such runs before they start.
 *
 * Timing. Every action takes effect after the setup latency of its key in the verb table (virtual link, route,
 * mirror, QoS, firewall each their own), the time a real controller needs to push state (ns-3-style: the action
 * is an event). A virtual
 * link takes its VNA endpoints and its reservation at once (resources are committed when asked for) but carries
 * traffic only once ready; this is what prediction buys: a link created after demand appears helps only after
 * its setup latency. Removal and route or mirror restoration (`null`) take effect at once, and a restoration
 * cancels a set of the same pair still waiting for its latency (the last call wins).
 *
 * Data plane (interception). A new flow of pair (s, d) follows, in order: a ready virtual link s -> d; a route the
 * policy pinned for the pair; the default route (the baseline routing, which reconverges after failures as the
 * engine's routing policy says). A mirror set for the pair adds a mirror copy on its path. Setting or changing a
 * route or mirror also moves the pair's active flows; creating a virtual link does not move flows already
 * running (a connection keeps its path), removing one moves its flows to the default route.
 *
 * QoS (setQos). A pair's class (priority, guaranteed rate, ceiling) is a transport QoS class
 * (sim/transport/transport.ts `PriorityCapable`; the fluid model's allocation is htb's guaranteed-then-borrow, see
 * flow-network.ts) holding the pair's active and new flows. The guarantee is admitted at once on the links of the
 * pair's current path (pinned route or default) against the capacity left after reservations and other
 * guarantees, the pair's own old class not counted (InsufficientCapacityError when it does not fit); the class
 * takes effect after the verb's setup latency. Priorities are clamped to 0..7 as the emulator's htb does. A class
 * set with a match (`setQos(pair, qos, match)`: a server port, optionally a protocol) holds only the pair's flows
 * whose fields match it (models/policies/verb-args.ts `matchesQos`), ahead of the pair's class without a match; a
 * pair may have one per match, and a flow two of them match goes to the one set first (the emulator's filters
 * are tried in that order). Each flow's class is decided when it starts and again whenever a class of its pair is
 * set or removed; the transport's allocation is unchanged (a class is a set of flows).
 *
 * Firewall (setFirewall): sim/control/firewall.ts; rules take effect after the setup latency; refused flows are
 * counted per rule and pair (the Observation's `firewall`, the run's overhead), never dropped silently.
 *
 * Probes (probe): what a probe packet would see when sent (the transport's `probePath`: propagation plus the
 * queueing the model holds, none in the fluid model); the result arrives one round trip later, lost (`rttNs` and
 * `availableBps` null) when a link of the path is down at sending. Each probe counts {@link PROBE_WIRE_BYTES} as
 * overhead (an ICMP echo and its reply).
 *
 * Overhead. Actions are counted by kind (the table's action verbs, in its order) with their setup latencies;
 * VNA-seconds allocated, and wasted on virtual links that never carried a flow, are accumulated. Errors are the
 * typed ControlErrors of types.ts.
 */

import type { VerbOption } from "../../models/policies/definition.ts";
import {
  type ControlPlane,
  type FirewallRule,
  InsufficientCapacityError,
  LinkDownError,
  type MirrorStats,
  type NodePath,
  NoPathError,
  type Pair,
  PoolExhaustedError,
  type ProbeResult,
  pairKey,
  type QosMatch,
  type QosSpec,
  type QosStats,
  UnknownNodeError,
  UnsupportedActionError,
  type VirtualLinkInfo,
  type VirtualLinkOptions,
} from "../../models/policies/types.ts";
import { type FlowMatchFields, matchesQos, qosMatchKey } from "../../models/policies/verb-args.ts";
import { checkFirewallRule, checkQosMatch, checkQosSpec } from "../../models/policies/verb-checks.ts";
import {
  type ActionKind,
  DEFAULT_SETUP_LATENCIES,
  perActionKind,
  type SetupLatencies,
  setupLatencyKey,
} from "../../models/policies/verbs.ts";
import {
  SIDECAR_MAX_PAYLOAD_BPS,
  TLS_WIRE_FACTOR,
  type TunnelCost,
  tlsTunnelCost,
} from "../../models/sidecar-costs.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { FlowRecord, TraceBus } from "../metrics/trace.ts";
import { kShortestPaths, type Path, pathDelayNs } from "../substrate/routing.ts";
import type { Topology } from "../substrate/topology.ts";
import type { TransportCapabilities } from "../transport/models.ts";
import {
  BEST_EFFORT_LEVEL,
  canProbe,
  type FlowSpec,
  hasMirrors,
  hasPriorities,
  hasReservations,
  type MirrorCapable,
  type PriorityCapable,
  type ProbeCapable,
  type QosClassSpec,
  type ReservationCapable,
  type Transport,
  TransportError,
} from "../transport/transport.ts";
import { Firewall, type FirewallTotals } from "./firewall.ts";

/**
 * Bytes a probe puts on the wire: an ICMP echo request and its reply, 84 bytes each (20 IPv4 + 8 ICMP + ping's
 * default 56 data bytes).
 */
export const PROBE_WIRE_BYTES = 2 * 84;

export type { ActionKind, SetupLatencies } from "../../models/policies/verbs.ts";

/** The capability each action verb needs from the transport (beyond the core), when it needs one. */
export const VERB_CAPABILITY: Partial<Record<ActionKind, keyof TransportCapabilities>> = {
  mirror: "mirrors",
  setQos: "priorities",
  probe: "probes",
};

/** The capability each verb option needs from the transport. */
export const VERB_OPTION_CAPABILITY: Record<VerbOption, keyof TransportCapabilities> = {
  "createVirtualLink.rateBps": "reservations",
};

/** The entries of `table` (a verb or option -> the capability it needs) that `caps` lacks, each with why. */
function lacking<K extends string>(
  table: Partial<Record<K, keyof TransportCapabilities>>,
  caps: TransportCapabilities,
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, cap] of Object.entries(table) as [K, keyof TransportCapabilities][]) {
    if (!caps[cap]) out[key] = `the transport model has no ${cap}`;
  }
  return out;
}

/** The verb options the control plane cannot carry out over a transport with `caps`, each with why. */
export function unsupportedVerbOptions(caps: TransportCapabilities): Partial<Record<VerbOption, string>> {
  return lacking(VERB_OPTION_CAPABILITY, caps);
}

/** The action verbs the control plane cannot do over a transport with `caps`, each with why. */
export function unsupportedVerbs(caps: TransportCapabilities): Partial<Record<ActionKind, string>> {
  return lacking(VERB_CAPABILITY, caps);
}
export { DEFAULT_SETUP_LATENCIES } from "../../models/policies/verbs.ts";

export interface SimControlPlaneOptions {
  setupLatencyNs?: Partial<SetupLatencies>;
  /** Virtual-link endpoints (VNAs) per node; a virtual link uses one at each end. Default 4. */
  vnaPoolSize?: number;
  /** Paths considered when a virtual link is created without one (least loaded of the k shortest). Default 4. */
  kPaths?: number;
  /**
   * Where a new flow goes when no route is usable (a partition): it is pinned there and stalls until a link comes
   * back. Default none: such a flow is refused with NoPathError.
   */
  stallPath?: (src: number, dst: number) => Path | undefined;
}

/** The baseline data plane the control plane falls back to (the engine's routing policy). */
export interface DefaultRouting {
  route(src: number, dst: number, flowKey: number): Path | undefined;
}

interface VirtualLink {
  id: string;
  src: number;
  dst: number;
  path: Path;
  rateBps: number | null;
  secure: boolean;
  ready: boolean;
  createdNs: number;
  /** Pseudo link index of its reservation, or -1. */
  pseudo: number;
  /** A secure link's QoS class capping its flows at the sidecars' throughput, or -1. */
  capClass: number;
  flows: number;
  bytes: number;
}

/** Per-run counters the metrics collect. */
export interface ControlStats {
  actions: Record<ActionKind, number>;
  /** Sum of setup latencies of the actions taken, ns. */
  setupLatencyNs: number;
  /** Flows (and their bytes) that found a ready virtual link at arrival. */
  hitFlows: number;
  hitBytes: number;
  flows: number;
  bytes: number;
  /** Virtual-link endpoint seconds held (2 per link per second), and those held by links that carried nothing. */
  vnaSeconds: number;
  vnaSecondsWasted: number;
  /** Actions that failed with a ControlError, by error name. */
  errors: Record<string, number>;
  /** Bytes probes put on the wire (see {@link PROBE_WIRE_BYTES}). */
  probeBytes: number;
  /** What the firewall refused. */
  firewall: FirewallTotals;
}

/** A pair's QoS class in the transport: the pair's own, or (with `match`) the class of the flows it matches. */
interface PairQos {
  qos: QosSpec;
  match?: QosMatch;
  /** Transport class id. */
  id: number;
  /** Links its guarantee is committed on, and the guarantee, bits/s. */
  links: readonly number[];
  guaranteedBps: number;
}

export class SimControlPlane implements ControlPlane {
  private readonly latency: SetupLatencies;
  private readonly poolSize: number;
  private readonly kPaths: number;
  private readonly stallPath: SimControlPlaneOptions["stallPath"];
  private readonly vls = new Map<string, VirtualLink>();
  private nextVl = 0;
  /** Ready virtual link serving each pair (directed), by pair index src * N + dst. */
  private readonly pairVl = new Map<number, string>();
  private readonly pinned = new Map<number, Path>();
  private readonly mirrors = new Map<number, Path>();
  /** Removals per "<verb> <pair index>" of routes and mirrors, so a removal cancels a pending set. */
  private readonly clears = new Map<string, number>();
  private readonly mirrorTally = new Map<number, { flows: number; wins: number }>();
  private readonly firewall: Firewall;
  /** Each pair's class without a match. */
  private readonly pairQos = new Map<number, PairQos>();
  /** Each pair's matched classes, in the order they took effect (a flow goes to the first that matches it). */
  private readonly matchedQos = new Map<number, PairQos[]>();
  /** What active flows carrying a port match on, for the matched classes set while they run. */
  private readonly flowFields = new Map<number, FlowMatchFields>();
  private readonly res: (Transport & ReservationCapable) | null;
  private readonly mir: (Transport & MirrorCapable) | null;
  private readonly pri: (Transport & PriorityCapable) | null;
  private readonly prb: (Transport & ProbeCapable) | null;
  private readonly poolUsed: Int32Array;
  private readonly activeByPair = new Map<number, Set<number>>();
  private readonly flowPair = new Map<number, number>();
  private readonly flowVl = new Map<number, string>();
  private readonly flowKeys = new Map<number, number>();
  private probeResults: ProbeResult[] = [];
  /** Per pair index: bytes and flows that arrived since the last {@link takeTraffic}. */
  private intervalTraffic = new Map<number, { bytes: number; flows: number }>();
  /** Called after the data plane moved flows (route, mirror, virtual link or failure changes). */
  onReroute: (() => void) | undefined;
  readonly stats: ControlStats;

  constructor(
    private readonly sim: Simulator,
    private readonly net: Transport,
    private readonly defaults: DefaultRouting,
    trace: TraceBus,
    opts: SimControlPlaneOptions = {},
  ) {
    this.latency = { ...DEFAULT_SETUP_LATENCIES, ...opts.setupLatencyNs };
    this.poolSize = opts.vnaPoolSize ?? 4;
    this.kPaths = opts.kPaths ?? 4;
    this.stallPath = opts.stallPath;
    this.poolUsed = new Int32Array(this.topo.nodeCount);
    this.stats = {
      actions: perActionKind(() => 0),
      setupLatencyNs: 0,
      hitFlows: 0,
      hitBytes: 0,
      flows: 0,
      bytes: 0,
      vnaSeconds: 0,
      vnaSecondsWasted: 0,
      errors: {},
      probeBytes: 0,
      firewall: { refusedFlows: 0, refusedBytes: 0 },
    };
    this.firewall = new Firewall(this.topo.nodeCount, (p) => this.pairIds(p));
    this.stats.firewall = this.firewall.totals;
    this.res = hasReservations(net) ? net : null;
    this.mir = hasMirrors(net) ? net : null;
    this.pri = hasPriorities(net) ? net : null;
    this.prb = canProbe(net) ? net : null;
    trace.on("flowEnd", this.onFlowEnd);
  }

  private get topo(): Topology {
    return this.net.topology;
  }

  // ------------------------------------------------------------------ data plane

  /**
   * Starts a flow of the pair where the data plane sends it (see the module doc). `flowKey` is the flow's arrival
   * index within its pair, for per-flow hashing in the default routing; `fields` what the firewall matches besides
   * the pair (the flow's application, port, protocol, where it carries them). Returns the flow id, or -1 when a
   * firewall rule denies the flow (it is counted, on the rule and as refused, not started).
   */
  startFlow(
    src: number,
    dst: number,
    sizeBytes: number,
    tag: number,
    flowKey: number,
    fields?: FlowMatchFields,
  ): number {
    const pair = src * this.topo.nodeCount + dst;
    this.stats.flows++;
    this.stats.bytes += sizeBytes;
    const t = this.intervalTraffic.get(pair);
    if (t) {
      t.bytes += sizeBytes;
      t.flows++;
    } else this.intervalTraffic.set(pair, { bytes: sizeBytes, flows: 1 });
    if (!this.firewall.admits(pair, sizeBytes, fields)) return -1;
    let path: Path | undefined;
    let vlId: string | undefined;
    let tunnel: TunnelCost | undefined;
    const vl = this.readyVl(pair);
    if (vl) {
      path = vl.pseudo >= 0 ? [vl.pseudo] : vl.path;
      vlId = vl.id;
      if (vl.secure) tunnel = tlsTunnelCost(pathDelayNs(this.topo, vl.path));
      vl.flows++;
      vl.bytes += sizeBytes;
      this.stats.hitFlows++;
      this.stats.hitBytes += sizeBytes;
    }
    path ??=
      this.usable(this.pinned.get(pair)) ??
      this.defaults.route(src, dst, flowKey) ??
      this.stallPath?.(src, dst);
    if (!path) throw new NoPathError(`no path from ${this.id(src)} to ${this.id(dst)}`);
    const mirrorPath = this.mir ? this.usable(this.mirrors.get(pair)) : undefined;
    const spec: FlowSpec = {
      src,
      dst,
      sizeBytes,
      path,
      tag,
      ...(mirrorPath && !samePath(mirrorPath, path) ? { mirrorPath } : {}),
      ...(tunnel ? { tunnel } : {}),
    };
    if (vl && vl.capClass >= 0) spec.qosClass = vl.capClass;
    if (this.pairQos.size > 0 || this.matchedQos.size > 0) {
      const qos = this.classFor(pair, fields);
      if (qos) spec.qosClass = qos.id;
    }
    const flow = this.net.startFlow(spec);
    if (fields?.port !== undefined) this.flowFields.set(flow, fields);
    let set = this.activeByPair.get(pair);
    if (!set) {
      set = new Set();
      this.activeByPair.set(pair, set);
    }
    set.add(flow);
    this.flowPair.set(flow, pair);
    this.flowKeys.set(flow, flowKey);
    if (vlId) this.flowVl.set(flow, vlId);
    return flow;
  }

  /** Moves the pair's active flows that are not on a virtual link to where a new flow would go now. */
  rerouteActive(pair: number): void {
    const set = this.activeByPair.get(pair);
    if (!set) return;
    const src = Math.floor(pair / this.topo.nodeCount);
    const dst = pair % this.topo.nodeCount;
    const mirror = this.usable(this.mirrors.get(pair));
    for (const flow of [...set].sort((a, b) => a - b)) {
      if (this.flowVl.has(flow)) continue;
      const path =
        this.usable(this.pinned.get(pair)) ?? this.defaults.route(src, dst, this.flowKeys.get(flow)!);
      if (path && !samePath(path, this.net.pathOf(flow))) this.net.setPath(flow, path);
      if (!this.mir) continue;
      const m = mirror && path && !samePath(mirror, path) ? mirror : null;
      const current = this.mir.mirrorPathOf(flow);
      if ((m === null) !== (current === null) || (m && current && !samePath(m, current)))
        this.mir.setMirror(flow, m);
    }
    this.onReroute?.();
  }

  /** Re-evaluates every pair's active flows (after failures and repairs). */
  rerouteAll(): void {
    for (const pair of [...this.activeByPair.keys()].sort((a, b) => a - b)) this.rerouteActive(pair);
  }

  /**
   * Moves only the active flows crossing a link in `down`, in flow id order, to their default path (when it has
   * one); every other flow keeps its path.
   */
  rerouteStalled(down: ReadonlySet<number>): void {
    const moved = new Set<number>();
    for (const l of [...down].sort((a, b) => a - b)) for (const f of this.net.flowsOnLink(l)) moved.add(f);
    const n = this.topo.nodeCount;
    for (const flow of [...moved].sort((a, b) => a - b)) {
      const pair = this.flowPair.get(flow);
      if (pair === undefined) continue;
      const path = this.defaults.route(Math.floor(pair / n), pair % n, this.flowKeys.get(flow)!);
      if (path !== undefined) this.net.setPath(flow, path);
    }
    this.onReroute?.();
  }

  private readonly onFlowEnd = (r: FlowRecord): void => {
    const pair = this.flowPair.get(r.flow);
    if (pair === undefined) return;
    this.flowPair.delete(r.flow);
    this.flowKeys.delete(r.flow);
    this.flowVl.delete(r.flow);
    this.flowFields.delete(r.flow);
    this.activeByPair.get(pair)?.delete(r.flow);
    if (r.mirrored) {
      const t = this.mirrorTally.get(pair) ?? { flows: 0, wins: 0 };
      t.flows++;
      if (r.mirrorWon) t.wins++;
      this.mirrorTally.set(pair, t);
    }
  };

  // ------------------------------------------------------------------ verbs

  createVirtualLink(src: string, dst: string, opts: VirtualLinkOptions = {}): string {
    return this.act("createVirtualLink", () => {
      const s = this.node(src);
      const d = this.node(dst);
      if (s === d) throw new NoPathError(`createVirtualLink: ${src} -> ${dst}: endpoints are the same node`);
      for (const n of [s, d]) {
        if (this.poolUsed[n]! >= this.poolSize) {
          throw new PoolExhaustedError(
            `createVirtualLink: node ${this.id(n)} has all ${this.poolSize} VNAs in use`,
          );
        }
      }
      const rateBps = opts.rateBps ?? null;
      const path = opts.path ? this.resolvePath(opts.path, s, d) : this.leastLoaded(s, d, rateBps ?? 0);
      let pseudo = -1;
      if (rateBps !== null) {
        if (!this.res) throw this.unsupported("createVirtualLink with rateBps", "reservations");
        try {
          pseudo = this.res.reserve(path, rateBps);
        } catch (e) {
          if (e instanceof TransportError)
            throw new InsufficientCapacityError(`createVirtualLink: ${e.message}`);
          throw e;
        }
      }
      const id = `vl-${this.nextVl++}`;
      const vl: VirtualLink = {
        id,
        src: s,
        dst: d,
        path,
        rateBps,
        secure: opts.secure ?? false,
        ready: false,
        createdNs: this.sim.now,
        pseudo,
        capClass: opts.secure && this.pri ? this.pri.addQosClass(secureLinkCap()) : -1,
        flows: 0,
        bytes: 0,
      };
      this.vls.set(id, vl);
      this.poolUsed[s] = this.poolUsed[s]! + 1;
      this.poolUsed[d] = this.poolUsed[d]! + 1;
      this.later(this.setupNs("createVirtualLink"), () => {
        if (!this.vls.has(id)) return;
        vl.ready = true;
        const pair = s * this.topo.nodeCount + d;
        if (!this.pairVl.has(pair)) this.pairVl.set(pair, id);
      });
      return id;
    });
  }

  removeVirtualLink(id: string): void {
    this.act("removeVirtualLink", () => {
      const vl = this.vls.get(id);
      if (!vl) throw new NoPathError(`removeVirtualLink: no virtual link "${id}"`);
      this.vls.delete(id);
      const pair = vl.src * this.topo.nodeCount + vl.dst;
      if (this.pairVl.get(pair) === id) {
        this.pairVl.delete(pair);
        const other = [...this.vls.values()].find((v) => v.ready && v.src === vl.src && v.dst === vl.dst);
        if (other) this.pairVl.set(pair, other.id);
      }
      // Its flows go back to the default data plane.
      for (const [flow, vid] of [...this.flowVl].sort((a, b) => a[0] - b[0])) {
        if (vid !== id) continue;
        this.flowVl.delete(flow);
        const p =
          this.usable(this.pinned.get(pair)) ?? this.defaults.route(vl.src, vl.dst, this.flowKeys.get(flow)!);
        if (p) this.net.setPath(flow, p);
      }
      this.onReroute?.();
      if (vl.pseudo >= 0) this.res!.release(vl.pseudo);
      if (vl.capClass >= 0) this.pri!.removeQosClass(vl.capClass);
      this.poolUsed[vl.src] = this.poolUsed[vl.src]! - 1;
      this.poolUsed[vl.dst] = this.poolUsed[vl.dst]! - 1;
      const seconds = (2 * (this.sim.now - vl.createdNs)) / 1e9;
      this.stats.vnaSeconds += seconds;
      if (vl.flows === 0) this.stats.vnaSecondsWasted += seconds;
    });
  }

  setRoute(pair: Pair, path: NodePath | null): void {
    this.setPairPath("setRoute", this.pinned, pair, path);
  }

  mirror(pair: Pair, path: NodePath | null): void {
    if (!this.mir) {
      this.act("mirror", () => {
        throw this.unsupported("mirror", "mirrors");
      });
    }
    this.setPairPath("mirror", this.mirrors, pair, path);
  }

  /**
   * A pair's pinned route or mirror: set after the verb's setup latency, removed (`null`) at once. A removal also
   * cancels a set of the pair still pending (the last call wins, as with a controller applying calls in order).
   */
  private setPairPath(
    kind: "setRoute" | "mirror",
    into: Map<number, Path>,
    pair: Pair,
    path: NodePath | null,
  ) {
    this.act(kind, () => {
      const s = this.node(pair.src);
      const d = this.node(pair.dst);
      const p = s * this.topo.nodeCount + d;
      const key = `${kind} ${p}`;
      const cleared = this.clears.get(key) ?? 0;
      if (path === null) {
        this.clears.set(key, cleared + 1);
        into.delete(p);
        this.rerouteActive(p);
        return;
      }
      const links = this.resolvePath(path, s, d);
      this.later(this.setupNs(kind), () => {
        if ((this.clears.get(key) ?? 0) !== cleared) return;
        into.set(p, links);
        this.rerouteActive(p);
      });
    });
  }

  setQos(pair: Pair, qos: QosSpec | null, match?: QosMatch): void {
    this.act("setQos", () => {
      const s = this.node(pair.src);
      const d = this.node(pair.dst);
      if (!this.pri) throw this.unsupported("setQos", "priority classes");
      if (match !== undefined) checkQosMatch(match);
      const pri = this.pri;
      const p = s * this.topo.nodeCount + d;
      const mk = qosMatchKey(match);
      const key = `setQos ${p}${mk === "" ? "" : ` ${mk}`}`;
      const cleared = this.clears.get(key) ?? 0;
      if (qos === null) {
        this.clears.set(key, cleared + 1);
        this.dropQos(p, mk);
        return;
      }
      const spec = checkQos(qos);
      const path = this.usable(this.pinned.get(p)) ?? this.defaults.route(s, d, 0) ?? [];
      const links = [...new Set(path.flatMap((l) => this.substrate(l)))].sort((a, b) => a - b);
      this.admitQos(this.qosOf(p, mk), links, spec.guaranteedBps);
      this.later(this.setupNs("setQos"), () => {
        if ((this.clears.get(key) ?? 0) !== cleared) return;
        this.dropQos(p, mk);
        let id: number;
        try {
          id = pri.addQosClass({ ...spec, links });
        } catch (e) {
          // Capacity committed meanwhile (a reservation or another class): counted, the pair stays best effort.
          if (!(e instanceof TransportError)) throw e;
          this.stats.errors.InsufficientCapacityError =
            (this.stats.errors.InsufficientCapacityError ?? 0) + 1;
          return;
        }
        const c: PairQos = { qos: { ...qos }, id, links, guaranteedBps: spec.guaranteedBps };
        if (match) {
          c.match = { ...match };
          this.matchedQos.set(p, [...(this.matchedQos.get(p) ?? []), c]);
        } else this.pairQos.set(p, c);
        this.reclass(p);
      });
    });
  }

  /** The pair's class with this match key (`""`: its class without a match), if any. */
  private qosOf(pair: number, matchKey: string): PairQos | undefined {
    if (matchKey === "") return this.pairQos.get(pair);
    return this.matchedQos.get(pair)?.find((c) => qosMatchKey(c.match) === matchKey);
  }

  /** The class a flow of the pair with these fields goes to: the first matched class matching it, else the pair's. */
  private classFor(pair: number, fields: FlowMatchFields | undefined): PairQos | undefined {
    const matched = fields?.port === undefined ? undefined : this.matchedQos.get(pair);
    return matched?.find((c) => matchesQos(c.match!, fields!)) ?? this.pairQos.get(pair);
  }

  /** Puts every active flow of the pair in its class now (a flow left without one stays best effort). */
  private reclass(pair: number): void {
    for (const f of this.activeByPair.get(pair) ?? []) {
      const c = this.classFor(pair, this.flowFields.get(f));
      if (c) this.pri!.setFlowQos(f, c.id);
    }
  }

  /** Throws InsufficientCapacityError when `rateBps` does not fit on `links` (the class it replaces not counted). */
  private admitQos(own: PairQos | undefined, links: readonly number[], rateBps: number): void {
    if (rateBps <= 0) return;
    for (const l of links) {
      const free = this.unreserved(l) + (own?.links.includes(l) ? own.guaranteedBps : 0);
      if (free < rateBps * (1 - 1e-12)) {
        throw new InsufficientCapacityError(
          `setQos: link ${this.topo.links[l]!.id} has ${free} bits/s left after reservations and guarantees, less than ${rateBps}`,
        );
      }
    }
  }

  /** Removes the pair's class with this match key (its flows go to the pair's other classes, else best effort). */
  private dropQos(pair: number, matchKey: string): void {
    const old = this.qosOf(pair, matchKey);
    if (!old) return;
    if (matchKey === "") this.pairQos.delete(pair);
    else {
      const rest = this.matchedQos.get(pair)!.filter((c) => c !== old);
      if (rest.length > 0) this.matchedQos.set(pair, rest);
      else this.matchedQos.delete(pair);
    }
    this.pri!.removeQosClass(old.id);
    this.reclass(pair);
  }

  setFirewall(rule: FirewallRule): void {
    this.act("setFirewall", () => {
      checkFirewallRule(rule);
      const srcs = rule.src === undefined ? this.topo.nodes.map((n) => n.index) : [this.node(rule.src)];
      const dsts = rule.dst === undefined ? this.topo.nodes.map((n) => n.index) : [this.node(rule.dst)];
      this.later(this.setupNs("setFirewall"), () => this.firewall.add(rule, srcs, dsts));
    });
  }

  probe(path: NodePath): void {
    this.act("probe", () => {
      const ends = [this.node(path[0] ?? ""), this.node(path[path.length - 1] ?? "")] as const;
      const links = this.resolvePath(path, ends[0], ends[1], true);
      if (!this.prb) throw this.unsupported("probe", "probes");
      const seen = this.prb.probePath(links);
      const rtt = 2 * (seen.propagationNs + seen.queueingNs);
      this.stats.probeBytes += PROBE_WIRE_BYTES;
      // The reply (or, when lost, the timeout) comes one round trip after sending.
      this.later(rtt, () => {
        this.probeResults.push({
          path: [...path],
          rttNs: seen.up ? rtt : null,
          availableBps: seen.up ? seen.availableBps : null,
          timeNs: this.sim.now,
        });
      });
    });
  }

  paths(src: string, dst: string, k: number): NodePath[] {
    const s = this.node(src);
    const d = this.node(dst);
    return kShortestPaths(this.topo, s, d, k, { weight: "delay", exclude: { links: this.downLinks() } }).map(
      (p) => this.topo.pathNodes(p),
    );
  }

  defaultPath(src: string, dst: string): NodePath | null {
    const p = this.defaults.route(this.node(src), this.node(dst), 0);
    return p ? this.topo.pathNodes(p) : null;
  }

  // ------------------------------------------------------------------ observation parts

  virtualLinks(): VirtualLinkInfo[] {
    const active = new Map<string, number>();
    for (const id of this.flowVl.values()) active.set(id, (active.get(id) ?? 0) + 1);
    return [...this.vls.values()]
      .sort((a, b) => cmp(a.id, b.id))
      .map((v) => ({
        id: v.id,
        src: this.id(v.src),
        dst: this.id(v.dst),
        path: this.topo.pathNodes(v.path),
        rateBps: v.rateBps,
        secure: v.secure,
        ready: v.ready,
        createdNs: v.createdNs,
        activeFlows: active.get(v.id) ?? 0,
      }));
  }

  routes(): Map<string, NodePath> {
    const out = new Map<string, NodePath>();
    for (const [p, path] of [...this.pinned].sort((a, b) => a[0] - b[0])) {
      out.set(this.pairName(p), this.topo.pathNodes(path));
    }
    return out;
  }

  /** Pairs a firewall rule denies now, as pair keys in (src, dst) index order. */
  deniedPairs(): string[] {
    return this.firewall.deniedPairs().map((p) => this.pairName(p));
  }

  /** Whether the firewall allows a new flow of the pair with these fields now (nothing counted). */
  firewallAllows(src: string, dst: string, fields: FlowMatchFields = {}): boolean {
    return this.firewall.allows(this.node(src) * this.topo.nodeCount + this.node(dst), fields);
  }

  /** Whether a firewall rule was ever set. */
  get firewallActive(): boolean {
    return this.firewall.active;
  }

  /** The firewall's rules and counters since the last call; `consume` false leaves them counting. */
  takeFirewall(consume = true) {
    return this.firewall.observe(consume);
  }

  /** QoS classes in place, sorted by pair (src, dst) id, then match (the pair's class without one first). */
  qosClasses(): QosStats[] {
    const all = [
      ...this.pairQos,
      ...[...this.matchedQos].flatMap(([p, cs]) => cs.map((c) => [p, c] as const)),
    ];
    return all
      .map(([p, c]) => {
        const [src, dst] = this.pairIds(p);
        return {
          src,
          dst,
          ...(c.match ? { match: { ...c.match } } : {}),
          priority: c.qos.priority,
          rateBps: c.qos.rateBps ?? null,
          ceilBps: c.qos.ceilBps ?? null,
        };
      })
      .sort(
        (a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst) || cmp(qosMatchKey(a.match), qosMatchKey(b.match)),
      );
  }

  vnaPool(): Map<string, { used: number; capacity: number }> {
    const out = new Map<string, { used: number; capacity: number }>();
    for (const n of this.topo.nodes)
      out.set(n.id, { used: this.poolUsed[n.index]!, capacity: this.poolSize });
    return out;
  }

  /** Per-pair arrivals since the last call, sorted by (src, dst) id; `consume` false leaves them counted. */
  takeTraffic(consume = true): { src: string; dst: string; bytes: number; flows: number }[] {
    const out = [...this.intervalTraffic]
      .map(([p, t]) => {
        const [src, dst] = this.pairName(p).split("->") as [string, string];
        return { src, dst, bytes: t.bytes, flows: t.flows };
      })
      .sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst));
    if (consume) this.intervalTraffic = new Map();
    return out;
  }

  /** Pair indices with active flows crossing a link that is down. */
  stalledPairs(): number[] {
    const out: number[] = [];
    for (const [pair, flows] of [...this.activeByPair].sort((a, b) => a[0] - b[0])) {
      for (const f of flows) {
        const paths = [this.net.pathOf(f), this.mir?.mirrorPathOf(f) ?? null];
        const stalled = paths.every((p) => p === null || p.some((l) => !this.net.isLinkUp(l)));
        if (stalled) {
          out.push(pair);
          break;
        }
      }
    }
    return out;
  }

  /** Pair indices with active flows crossing `link` (directly or through a reservation). */
  pairsOnLink(link: number): number[] {
    const out: number[] = [];
    for (const [pair, flows] of [...this.activeByPair].sort((a, b) => a[0] - b[0])) {
      for (const f of flows) {
        const p = this.net.pathOf(f).flatMap((l) => this.substrate(l));
        if (p.includes(link)) {
          out.push(pair);
          break;
        }
      }
    }
    return out;
  }

  /** Probe results since the last call; `consume` false leaves them for the next. */
  takeProbes(consume = true): ProbeResult[] {
    const r = this.probeResults;
    if (!consume) return [...r];
    this.probeResults = [];
    return r;
  }

  /** Mirrors with their tallies since the last call; `consume` false leaves the tallies counting. */
  takeMirrorStats(consume = true): MirrorStats[] {
    const out: MirrorStats[] = [];
    for (const [p, path] of [...this.mirrors].sort((a, b) => a[0] - b[0])) {
      const t = this.mirrorTally.get(p) ?? { flows: 0, wins: 0 };
      const [src, dst] = this.pairName(p).split("->") as [string, string];
      out.push({ src, dst, path: this.topo.pathNodes(path), flows: t.flows, mirrorWins: t.wins });
    }
    if (consume) this.mirrorTally.clear();
    return out;
  }

  /** Closes the VNA-seconds accounting of links still alive at the end of a run. */
  finish(): void {
    for (const vl of this.vls.values()) {
      const seconds = (2 * (this.sim.now - vl.createdNs)) / 1e9;
      this.stats.vnaSeconds += seconds;
      if (vl.flows === 0) this.stats.vnaSecondsWasted += seconds;
      vl.createdNs = this.sim.now;
    }
  }

  // ------------------------------------------------------------------ helpers

  private act<T>(kind: ActionKind, f: () => T): T {
    this.stats.actions[kind]++;
    try {
      return f();
    } catch (e) {
      const name = e instanceof Error ? e.name : "Error";
      this.stats.errors[name] = (this.stats.errors[name] ?? 0) + 1;
      throw e;
    }
  }

  /** The setup latency of an action verb (its table key's configured value), ns; 0 for a verb without one. */
  private setupNs(kind: ActionKind): number {
    const key = setupLatencyKey(kind);
    return key === undefined ? 0 : this.latency[key];
  }

  private later(delayNs: number, f: () => void): void {
    this.stats.setupLatencyNs += delayNs;
    this.sim.schedule(delayNs, f);
  }

  private readyVl(pair: number): VirtualLink | undefined {
    const id = this.pairVl.get(pair);
    const vl = id === undefined ? undefined : this.vls.get(id);
    return vl?.ready && this.usable(vl.path) ? vl : undefined;
  }

  /** The path when all its links are up, else undefined. */
  private usable(path: Path | undefined): Path | undefined {
    if (!path) return undefined;
    for (const l of path) if (!this.net.isLinkUp(l)) return undefined;
    return path;
  }

  private downLinks(): Set<number> {
    const down = new Set<number>();
    for (let l = 0; l < this.topo.linkCount; l++) if (!this.net.isLinkUp(l)) down.add(l);
    return down;
  }

  /** The least-loaded (by bottleneck headroom) of the k shortest up paths with room for `rateBps`. */
  private leastLoaded(s: number, d: number, rateBps: number): Path {
    const candidates = kShortestPaths(this.topo, s, d, this.kPaths, {
      weight: "delay",
      exclude: { links: this.downLinks() },
    });
    let best: Path | undefined;
    let bestRoom = Number.NEGATIVE_INFINITY;
    for (const p of candidates) {
      let room = Number.POSITIVE_INFINITY;
      for (const l of p) room = Math.min(room, this.unreserved(l) - this.net.linkLoadBps(l));
      const fits = p.every((l) => this.unreserved(l) >= rateBps);
      if (fits && room > bestRoom) {
        best = p;
        bestRoom = room;
      }
    }
    if (!best) {
      throw candidates.length === 0
        ? new NoPathError(`no up path from ${this.id(s)} to ${this.id(d)}`)
        : new InsufficientCapacityError(
            `no path from ${this.id(s)} to ${this.id(d)} among the ${this.kPaths} shortest has ${rateBps} bits/s unreserved`,
          );
    }
    return best;
  }

  /**
   * Link indices of a node path from s to d; parallel links: the first up one. A hop with every link down throws
   * LinkDownError, or with `allowDown` (a probe, which is then lost) gives the first of them.
   */
  private resolvePath(path: NodePath, s: number, d: number, allowDown = false): Path {
    if (path.length < 2) throw new NoPathError(`path ${JSON.stringify(path)} has fewer than two nodes`);
    const nodes = path.map((id) => this.node(id));
    if (nodes[0] !== s || nodes[nodes.length - 1] !== d) {
      throw new NoPathError(`path ${path.join(" ")} does not lead from ${this.id(s)} to ${this.id(d)}`);
    }
    const links: number[] = [];
    for (let i = 1; i < nodes.length; i++) {
      const between = this.topo.linksBetween(nodes[i - 1]!, nodes[i]!);
      if (between.length === 0)
        throw new NoPathError(`path ${path.join(" ")}: no link ${path[i - 1]} -> ${path[i]}`);
      const up = between.find((l) => this.net.isLinkUp(l)) ?? (allowDown ? between[0] : undefined);
      if (up === undefined)
        throw new LinkDownError(`path ${path.join(" ")}: link ${path[i - 1]} -> ${path[i]} is down`);
      links.push(up);
    }
    return links;
  }

  private node(id: string): number {
    if (!this.topo.hasNode(id)) throw new UnknownNodeError(`unknown node "${id}"`);
    return this.topo.node(id);
  }

  private id(n: number): string {
    return this.topo.nodes[n]!.id;
  }

  /** Capacity of a link not reserved or guaranteed (its capacity when the transport has no reservations), bits/s; 0 when down. */
  private unreserved(l: number): number {
    if (this.res) return this.res.unreservedBps(l);
    return this.net.isLinkUp(l) ? this.net.linkCapacity(l) : 0;
  }

  /** Substrate links under a link (itself unless it is a reservation). */
  private substrate(l: number): readonly number[] {
    return this.res ? this.res.substratePath(l) : [l];
  }

  /** The error of a verb the configured transport cannot carry out. */
  private unsupported(what: string, capability: string): UnsupportedActionError {
    return new UnsupportedActionError(
      `${what}: the configured transport model has no ${capability} (sim/transport/transport.ts capabilities)`,
    );
  }

  private pairIds(p: number): [string, string] {
    const n = this.topo.nodeCount;
    return [this.id(Math.floor(p / n)), this.id(p % n)];
  }

  private pairName(p: number): string {
    const n = this.topo.nodeCount;
    return pairKey(this.id(Math.floor(p / n)), this.id(p % n));
  }
}

/**
 * The class capping a secure virtual link's flows together at what its two sidecars carry
 * (models/sidecar-costs.ts `SIDECAR_MAX_PAYLOAD_BPS`, on the wire with TLS's records): no guarantee, best effort's
 * level, committed on no link.
 */
function secureLinkCap(): QosClassSpec {
  return {
    level: BEST_EFFORT_LEVEL,
    guaranteedBps: 0,
    ceilBps: SIDECAR_MAX_PAYLOAD_BPS * TLS_WIRE_FACTOR,
    links: [],
  };
}

/** A QoS spec as a transport class: priority clamped to 0..7 (as htb's prio), guarantee 0 and no ceiling by default. */
function checkQos(qos: QosSpec): { level: number; guaranteedBps: number; ceilBps: number } {
  checkQosSpec(qos);
  const g = qos.rateBps ?? 0;
  const ceil = qos.ceilBps ?? Number.POSITIVE_INFINITY;
  const level = Math.min(BEST_EFFORT_LEVEL, Math.max(0, Math.round(qos.priority)));
  return { level, guaranteedBps: g, ceilBps: ceil };
}

function samePath(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
