/**
 * The simulator's {@link ControlPlane}: the controller verbs of the verb table (models/policies/verbs.ts) acting
 * on a {@link FlowNetwork}, plus the data plane that decides where each new flow goes.
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
 * Overhead. Actions are counted by kind (the table's action verbs, in its order) with their setup latencies; VNA-seconds allocated, and wasted on virtual
 * links that never carried a flow, are accumulated. Errors are the typed ControlErrors of types.ts.
 */
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
  type QosSpec,
  UnknownNodeError,
  UnsupportedActionError,
  type VirtualLinkInfo,
  type VirtualLinkOptions,
} from "../../models/policies/types.ts";
import {
  type ActionKind,
  DEFAULT_SETUP_LATENCIES,
  perActionKind,
  type SetupLatencies,
  setupLatencyKey,
} from "../../models/policies/verbs.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { FlowRecord, TraceBus } from "../metrics/trace.ts";
import { kShortestPaths, type Path } from "../substrate/routing.ts";
import type { Topology } from "../substrate/topology.ts";
import { type FlowNetwork, TransportError } from "../transport/flow-network.ts";

export type { ActionKind, SetupLatencies } from "../../models/policies/verbs.ts";
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
  private readonly denied = new Set<number>();
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
    private readonly net: FlowNetwork,
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
    };
    trace.on("flowEnd", this.onFlowEnd);
  }

  private get topo(): Topology {
    return this.net.topology;
  }

  // ------------------------------------------------------------------ data plane

  /**
   * Starts a flow of the pair where the data plane sends it (see the module doc). `flowKey` is the flow's arrival
   * index within its pair, for per-flow hashing in the default routing. Returns the flow id, or -1 when a
   * firewall rule denies the pair (the flow is counted, not started).
   */
  startFlow(src: number, dst: number, sizeBytes: number, tag: number, flowKey: number): number {
    const pair = src * this.topo.nodeCount + dst;
    this.stats.flows++;
    this.stats.bytes += sizeBytes;
    const t = this.intervalTraffic.get(pair);
    if (t) {
      t.bytes += sizeBytes;
      t.flows++;
    } else this.intervalTraffic.set(pair, { bytes: sizeBytes, flows: 1 });
    if (this.denied.has(pair)) return -1;
    let path: Path | undefined;
    let vlId: string | undefined;
    const vl = this.readyVl(pair);
    if (vl) {
      path = vl.pseudo >= 0 ? [vl.pseudo] : vl.path;
      vlId = vl.id;
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
    const mirrorPath = this.usable(this.mirrors.get(pair));
    const flow = this.net.startFlow({
      src,
      dst,
      sizeBytes,
      path,
      tag,
      ...(mirrorPath && !samePath(mirrorPath, path) ? { mirrorPath } : {}),
    });
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
      const m = mirror && path && !samePath(mirror, path) ? mirror : null;
      const current = this.net.mirrorPathOf(flow);
      if ((m === null) !== (current === null) || (m && current && !samePath(m, current)))
        this.net.setMirror(flow, m);
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
        try {
          pseudo = this.net.reserve(path, rateBps);
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
      if (vl.pseudo >= 0) this.net.release(vl.pseudo);
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

  setQos(pair: Pair, _qos: QosSpec | null): void {
    this.act("setQos", () => {
      this.node(pair.src);
      this.node(pair.dst);
      throw new UnsupportedActionError(
        "setQos: the flow-level model shares links max-min fairly and has no priority classes; " +
          "use createVirtualLink with rateBps for a rate guarantee",
      );
    });
  }

  setFirewall(rule: FirewallRule): void {
    this.act("setFirewall", () => {
      const srcs = rule.src === undefined ? this.topo.nodes.map((n) => n.index) : [this.node(rule.src)];
      const dsts = rule.dst === undefined ? this.topo.nodes.map((n) => n.index) : [this.node(rule.dst)];
      this.later(this.setupNs("setFirewall"), () => {
        for (const s of srcs) {
          for (const d of dsts) {
            if (s === d) continue;
            const p = s * this.topo.nodeCount + d;
            if (rule.action === "deny") this.denied.add(p);
            else this.denied.delete(p);
          }
        }
      });
    });
  }

  probe(path: NodePath): void {
    this.act("probe", () => {
      const links = this.resolvePath(path, this.node(path[0] ?? ""), this.node(path[path.length - 1] ?? ""));
      let delay = 0;
      let avail = Number.POSITIVE_INFINITY;
      let up = true;
      for (const l of links) {
        delay += this.topo.links[l]!.delayNs;
        avail = Math.min(avail, Math.max(0, this.net.unreservedBps(l) - this.net.linkLoadBps(l)));
        up &&= this.net.isLinkUp(l);
      }
      // The fluid model has no queues: RTT is twice the propagation delay; the result arrives after one RTT.
      this.later(2 * delay, () => {
        this.probeResults.push({
          path: [...path],
          rttNs: up ? 2 * delay : null,
          availableBps: up ? avail : 0,
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
    return [...this.denied].sort((a, b) => a - b).map((p) => this.pairName(p));
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
        const paths = [this.net.pathOf(f), this.net.mirrorPathOf(f)];
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
        const p = this.net.pathOf(f).flatMap((l) => this.net.substratePath(l));
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
      for (const l of p) room = Math.min(room, this.net.unreservedBps(l) - this.net.linkLoadBps(l));
      const fits = p.every((l) => this.net.unreservedBps(l) >= rateBps);
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

  /** Link indices of a node path from s to d; parallel links: the first up one. */
  private resolvePath(path: NodePath, s: number, d: number): Path {
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
      const up = between.find((l) => this.net.isLinkUp(l));
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

  private pairName(p: number): string {
    const n = this.topo.nodeCount;
    return pairKey(this.id(Math.floor(p / n)), this.id(p % n));
  }
}

function samePath(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
