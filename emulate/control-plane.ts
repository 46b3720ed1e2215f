/**
 * The emulation's ControlPlane (models/policies/types.ts): controller verbs as real `ip`/`tc` commands in the
 * run's namespaces. Actions are recorded (with their wall-clock latency) by the recording decorator around it
 * (models/policies/recording.ts, in emulate/engine.ts), as in the simulator.
 *
 * - createVirtualLink(src, dst): a VXLAN device in each endpoint namespace (one VNI per virtual link) between
 *   two tunnel-endpoint addresses (/32s on `lo`, from the top of the run's block) whose host routes are pinned
 *   hop by hop along the chosen substrate path (default: the substrate's own least-delay path); a /31 on the
 *   devices; and the interceptor: a policy rule at the source (`iif lo to <dst node address>`, i.e. the pair's
 *   traffic originating there) into the link's own table, whose one route points into the VXLAN device. Like the
 *   simulator's, a virtual link carries its pair one way; the reverse traffic keeps its routes. The
 *   device MTU is the path's smallest link MTU minus 50 (VXLAN overhead). `rateBps` is a reservation, as in the
 *   simulator: htb caps the device's egress at it, and every substrate egress of the path reserves it (plus the
 *   encapsulation) for the tunnel's outer packets (emulate/qos.ts `reserve`; InsufficientCapacityError when it does
 *   not fit). The VNA pool: at most `vnaPoolSize` virtual-link
 *   endpoints per node, else PoolExhaustedError.
 * - removeVirtualLink: removes both devices, rules, tables, tunnel routes and addresses.
 * - setRoute(pair, path): the pair's packets follow `path`: a rule at the source (`iif lo to dst`) and at every
 *   transit node (`from src to dst`) into a per-pair table holding the next hop; `null` removes them. The calls of
 *   one turn of the event loop go in together, one `ip -batch` request per namespace (emulate/routes.ts).
 * - setQos(pair, qos, match?): htb classes with priority, guaranteed rate and ceiling on the pair's path, with a match
 *   holding only the pair's packets to or from a server port (emulate/qos.ts).
 * - mirror(pair, path): tc `mirred` copies into a VXLAN tunnel over the mirror path, with per-path arrival counters
 *   at the destination (emulate/mirror.ts).
 * - setFirewall(rule): nftables rules at the sources, with counters (emulate/firewall.ts).
 * - probe(path): ICMP echoes pinned to the path (emulate/probe.ts).
 * - createVirtualLink(..., {secure: true}): the same virtual link, and the pair's TCP connections to the ports of
 *   {@link ControlPlaneOptions.securePorts} cross it inside a mutual-TLS 1.3 tunnel between a sidecar at each end
 *   (emulate/sidecar/secure-link.ts); removeVirtualLink stops the sidecars and removes their keys.
 *
 * State (virtual links, routes, classes, counters) lives in the run's state file, so a controller in another
 * process can attach to a run built by `emulate up` ({@link EmulationControlPlane.attach}).
 */

import type { LinkQuality } from "../models/control/driver.ts";
import {
  ControlError,
  type ControlPlane,
  type FirewallRule,
  type FirewallStats,
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
  type VirtualLinkInfo,
  type VirtualLinkOptions,
} from "../models/policies/types.ts";
import type { FlowMatchFields } from "../models/policies/verb-args.ts";
import { checkFirewallRule, checkQosMatch, checkQosSpec } from "../models/policies/verb-checks.ts";
import { allPairsShortestPaths, kShortestPaths } from "../sim/substrate/routing.ts";
import { DEFAULT_LINK, type Topology, TopologyBuilder } from "../sim/substrate/topology.ts";
import { AddressPool } from "./addressing.ts";
import { ChannelCommands, type ChannelTool, OneShotCommands, type VerbCommands } from "./channels.ts";
import {
  addrAdd,
  addrDel,
  type Cmd,
  htbLink,
  linkDel,
  linkDown,
  linkUp,
  neighReplace,
  routeAdd,
  routeDel,
  routeFlushTable,
  routeReplace,
  ruleAdd,
  ruleDel,
  vxlanAdd,
} from "./commands.ts";
import type { ControlContext, Hop } from "./control-context.ts";
import { UnsupportedInEmulationError } from "./errors.ts";
import { EmulationFirewall } from "./firewall.ts";
import { linkQualityCommands } from "./link-quality.ts";
import { EmulationMirrors } from "./mirror.ts";
import { ifName, macAddress } from "./names.ts";
import type { LinkPlan, Plan, RoutePlan } from "./plan.ts";
import { EmulationProbes } from "./probe.ts";
import { EmulationQos } from "./qos.ts";
import { EmulationRoutes } from "./routes.ts";
import { type RunState, readState, runDir, type VirtualLinkState, writeState } from "./run-state.ts";
import { ProcessRunner, parallel, type Runner } from "./runner.ts";
import { SecureLinks } from "./sidecar/secure-link.ts";
import { SpawnerRunner } from "./spawner.ts";
import { requireRun } from "./substrate.ts";
import { TurnBatches } from "./turn-batch.ts";
import { verbUnavailable } from "./verb-support.ts";

/** The Observation's parts the verbs give (emulated units; the engine's scaling decorator converts them). */
export interface ObservedVerbs {
  probes: ProbeResult[];
  mirrors: MirrorStats[];
  qos?: QosStats[];
  firewall: FirewallStats;
}

export interface ControlPlaneOptions {
  runner?: Runner;
  /** Run-state directory (default {@link runDir}). */
  dir?: string;
  /** Virtual-link endpoints per node. @default 8 */
  vnaPoolSize?: number;
  /** Clock for `createdNs` of virtual links (ns). @default wall-clock ns since the control plane was made */
  nowNs?: () => number;
  /** Wall ms between readings of the mirrors' counters. @default 250 */
  mirrorPollMs?: number;
  /**
   * How the verbs run their commands. @default long-lived per-namespace channels (emulate/channels.ts) when the
   * runner is a {@link ProcessRunner} (or none is given), else one process per request through the runner
   */
  commands?: VerbCommands;
  /**
   * TCP ports a secure virtual link tunnels (the destination's ports the pair's connections go to).
   * @default the traffic agents' ports of the run (RunState.applicationPorts)
   */
  securePorts?: readonly number[];
}

const VXLAN_OVERHEAD = 50;

/** The QoS module's key of a virtual link's reservation (emulate/qos.ts `reserve`). */
const reservationKey = (virtualLink: string) => `vl:${virtualLink}`;
const VL_RULE_PRIORITY = 1000;

export class EmulationControlPlane implements ControlPlane {
  /** The verbs' own parts (see their modules). */
  readonly mirrors: EmulationMirrors;
  readonly firewall: EmulationFirewall;
  readonly probes: EmulationProbes;
  readonly qos: EmulationQos;
  /** Pinned routes, batched (emulate/routes.ts). */
  readonly pinnedRoutes: EmulationRoutes;
  private readonly runner: Runner;
  private readonly commands: VerbCommands;
  /** The virtual links' ip and tc requests of the current turn of the event loop ({@link apply}). */
  private readonly batches = new TurnBatches(() => this.commands);
  /** Starts the probes' pings off the event loop (emulate/spawner.ts); none with an injected runner. */
  private readonly spawner: SpawnerRunner | undefined;
  private readonly dir: string;
  private readonly poolSize: number;
  private readonly nowNs: () => number;
  private readonly plan: Plan;
  private topo: Topology | undefined;
  /** Directed link ids that are down (both directions of a failed cable). */
  private readonly down = new Set<string>();
  /** Default routes after a reconvergence (null: the plan's). */
  private routesNow: RoutePlan[][] | null = null;
  /** The sidecars of secure virtual links. */
  readonly secureLinks: SecureLinks;
  private readonly securePorts: readonly number[] | undefined;

  /** Attaches to a live run by id (reads its state file). */
  static attach(runId: string, opts: ControlPlaneOptions = {}): EmulationControlPlane {
    return new EmulationControlPlane(requireRun(runId, opts.dir ?? runDir()), opts);
  }

  constructor(
    private readonly state: RunState,
    opts: ControlPlaneOptions = {},
  ) {
    this.plan = state.plan;
    this.runner = opts.runner ?? new ProcessRunner();
    this.commands =
      opts.commands ??
      (this.runner instanceof ProcessRunner
        ? new ChannelCommands(this.runner.log ? { log: this.runner.log } : {})
        : new OneShotCommands(this.runner));
    this.dir = opts.dir ?? runDir();
    this.poolSize = opts.vnaPoolSize ?? 8;
    const t0 = process.hrtime.bigint();
    this.nowNs = opts.nowNs ?? (() => Number(process.hrtime.bigint() - t0));
    const ctx = this.context();
    this.mirrors = new EmulationMirrors(
      ctx,
      opts.mirrorPollMs === undefined ? {} : { pollMs: opts.mirrorPollMs },
    );
    this.firewall = new EmulationFirewall(ctx);
    this.spawner = this.runner instanceof ProcessRunner ? new SpawnerRunner() : undefined;
    this.probes = new EmulationProbes(ctx, this.spawner);
    this.qos = new EmulationQos(ctx);
    this.pinnedRoutes = new EmulationRoutes(ctx);
    this.secureLinks = new SecureLinks({ runId: this.plan.runId, plan: this.plan }, this.runner, this.dir);
    this.securePorts = opts.securePorts;
  }

  /** What the verb modules see of this control plane. */
  private context(): ControlContext {
    return {
      runner: this.runner,
      commands: this.commands,
      plan: this.plan,
      state: this.state,
      node: (id) => this.node(id),
      ns: (i) => this.ns(i),
      addr: (i) => this.addr(i),
      resolvePath: (u, v, path) => this.resolvePath(u, v, path),
      downLink: (u, v, path) => this.downLink(u, v, path),
      pathNow: (src, dst) => this.pathNow(src, dst),
      takeAddresses: () => {
        const pool = this.pool();
        const a = pool.takeTop();
        this.plan.poolCursor = pool.cursor;
        return a;
      },
      save: () => this.save(),
      nowNs: () => this.nowNs(),
    };
  }

  // --- verbs -----------------------------------------------------------------------------------------------------

  /**
   * A creation whose commands failed because a link of its path went down meanwhile (a failure comes at its instant,
   * also during a decision's apply: models/control/driver.ts) rejects with LinkDownError, as one refused before
   * its commands; what it had set up stays until teardown.
   */
  createVirtualLink(src: string, dst: string, opts: VirtualLinkOptions = {}): Promise<string> {
    return this.doCreate(src, dst, opts).catch((e: unknown) => {
      // doCreate resolved the same nodes and path before its commands, so only a link gone down since can fail here.
      const down = opts.path ? this.downLink(this.node(src), this.node(dst), opts.path) : null;
      throw down ? new LinkDownError(`${down.message} (${e instanceof Error ? e.message : String(e)})`) : e;
    });
  }

  /** The LinkDownError path `path` from node `u` to `v` meets now, or null; other errors of resolvePath throw. */
  private downLink(u: number, v: number, path: NodePath): LinkDownError | null {
    try {
      this.resolvePath(u, v, path);
      return null;
    } catch (e) {
      if (e instanceof LinkDownError) return e;
      throw e;
    }
  }

  removeVirtualLink(id: string): Promise<void> {
    return this.doRemove(id);
  }

  /** Batched with the other setRoute calls of the same turn of the event loop (emulate/routes.ts). */
  setRoute(pair: Pair, path: NodePath | null): Promise<void> {
    return this.pinnedRoutes.set(pair, path);
  }

  setQos(pair: Pair, qos: QosSpec | null, match?: QosMatch): Promise<void> {
    if (qos) checkQosSpec(qos);
    if (match !== undefined) checkQosMatch(match);
    return this.qos.set(pair, qos, match);
  }

  mirror(pair: Pair, path: NodePath | null): Promise<void> {
    return this.mirrors.set(pair, path);
  }

  setFirewall(rule: FirewallRule): Promise<void> {
    checkFirewallRule(rule);
    return this.firewall.set(rule);
  }

  probe(path: NodePath): Promise<void> {
    return this.probes.send(path);
  }

  // --- what the verbs' effects look like --------------------------------------------------------------------------

  /** Whether a firewall rule denies a new flow of the pair now (`fields`: its destination port, protocol on the wire). */
  denies(src: string, dst: string, fields?: FlowMatchFields): boolean {
    return this.firewall.denies(src, dst, fields);
  }

  /**
   * Whether a firewall rule lets a new flow of the pair start now, counting it for the Observation's `firewall`
   * (the flow ledger calls it once per flow; see {@link EmulationFirewall.admits}).
   */
  admits(src: string, dst: string, sizeBytes: number, fields?: FlowMatchFields): boolean {
    return this.firewall.admits(src, dst, sizeBytes, fields);
  }

  /** The TCP port an application's flows are sent to in this run (emulate/application-ports.ts), if it has one. */
  applicationPort(application: string): number | undefined {
    return this.state.applicationPorts?.[application];
  }

  /**
   * The Observation's verb parts since the last consuming call, in emulated units (wall-clock RTTs): probe
   * results completed, each mirror's counters as last read (`endedFlows`: the pair's mirrored flows that ended
   * in the interval, from the flow ledger), the QoS classes in place, and the firewall's rules with the flows each
   * decided and the flows refused per pair (as counted by {@link admits}).
   */
  observeVerbs(consume: boolean, endedFlows: (src: string, dst: string) => number = () => 0): ObservedVerbs {
    const qos = this.qos.stats();
    return {
      probes: this.probes.results(consume),
      mirrors: this.mirrors.stats(consume, endedFlows),
      ...(qos.length > 0 ? { qos } : {}),
      firewall: this.firewall.observe(consume),
    };
  }

  /** Waits for the probes in flight and reads the mirrors' counters now, so the next observation shows both. */
  async sync(): Promise<void> {
    await Promise.all([this.probes.settle(), this.mirrors.refresh()]);
  }

  /**
   * Stops the background reading of counters and ends the command channels (call at the end of a run; the objects
   * stay until teardown; a later verb starts new channels).
   */
  /** Statistics of a namespace's devices or qdiscs through the command channels (emulate/counters.ts reads them). */
  stats(tool: "ip" | "tc", ns: string, show: readonly string[]): Promise<string | undefined> {
    return this.commands.stats(tool, ns, show);
  }

  /**
   * Starts, in every namespace of the run, the command channels that `verbs` use (ip and tc for any verb, ip's
   * probe lane for probe, the nft channels for setFirewall and mirror), before traffic: starting a channel's process blocks the controller's
   * event loop while the fork runs (emulate/channels.ts `open`), and a blocked controller delays every live
   * application's next flow. Measured on personas-emulate at load 16: the persona policy's first apply started 17
   * channels, 54-252 ms each, 2.1 s in all with the controller's event loop stalled (flow start lateness p99 0.8 s).
   */
  openChannels(verbs: readonly string[]): void {
    if (verbs.length === 0) return;
    const tools: ChannelTool[] = ["ip", "tc"];
    if (verbs.includes("probe")) {
      tools.push("ip-probe");
      this.spawner?.open();
    }
    if (verbs.includes("setFirewall") || verbs.includes("mirror")) tools.push("nft", "nft-read");
    if (verbs.includes("failure")) tools.push("ip-link");
    for (const n of this.plan.nodes) this.commands.open(n.netns, tools);
  }

  close(): void {
    this.mirrors.stop();
    this.commands.close();
    this.spawner?.close();
  }

  /** Up to `k` loopless least-delay paths (Yen) over the substrate, node ids. */
  paths(src: string, dst: string, k: number): NodePath[] {
    const u = this.node(src);
    const v = this.node(dst);
    const topo = this.topology();
    return kShortestPaths(topo, u, v, k, { weight: "delay", exclude: { links: this.downIndices() } }).map(
      (p) => topo.pathNodes(p),
    );
  }

  /** The path of the pair's static routes (what a flow takes without virtual link or explicit route). */
  defaultPath(src: string, dst: string): NodePath | null {
    const u = this.node(src);
    const v = this.node(dst);
    if (u === v) return [src];
    try {
      return this.defaultPathIndices(u, v).map((i) => this.plan.nodes[i]!.id);
    } catch (e) {
      if (e instanceof NoPathError) return null;
      throw e;
    }
  }

  /** The substrate as a Topology (rebuilt once from the plan: ids, delays, capacities, MTUs). */
  private topology(): Topology {
    if (this.topo) return this.topo;
    const b = new TopologyBuilder(this.plan.topology, `emulation run ${this.plan.runId}`);
    for (const n of this.plan.nodes) b.addNode({ id: n.id });
    const id = (i: number) => this.plan.nodes[i]!.id;
    for (const l of this.plan.links) {
      const ab = {
        delayNs: l.delayNs[0],
        capacityBps: l.a.rateBps ?? DEFAULT_LINK.capacityBps,
        mtuBytes: l.mtu,
      };
      b.addLink(id(l.a.node), id(l.b.node), ab, false);
      if (l.delayNs[1] !== null) {
        const ba = {
          delayNs: l.delayNs[1],
          capacityBps: l.b.rateBps ?? DEFAULT_LINK.capacityBps,
          mtuBytes: l.mtu,
        };
        b.addLink(id(l.b.node), id(l.a.node), ba, false);
      }
    }
    this.topo = b.build();
    return this.topo;
  }

  // --- failures ---------------------------------------------------------------------------------------------------

  /**
   * Takes a cable down or up: its devices at both ends (`ip link set dev ... down|up`; the kernel then drops
   * routes through it). Paths and new virtual links avoid down links; default routes change only at
   * {@link reconverge} (as after a routing protocol's convergence delay).
   * @throws UnknownLinkError-like ControlError for an id the substrate does not have.
   */
  async setLinkState(linkId: string, up: boolean): Promise<void> {
    const lp = this.planLink(linkId);
    for (const id of lp.ids) {
      if (id === null) continue;
      if (up) this.down.delete(id);
      else this.down.add(id);
    }
    await parallel([lp.a, lp.b], (end) =>
      // Its own lane: the cable breaks at its instant, not behind a decision's commands queued in the namespace.
      this.commands.batch("ip", this.ns(end.node), [up ? linkUp(end.dev) : linkDown(end.dev)], {
        lane: "link",
      }),
    );
    // Taking a device down flushed every route through it, in every table: restore the current default routes,
    // and the pinned per-pair routes and virtual links' tunnel routes that cross the cable.
    if (up) {
      this.probes.linkUp(lp.a.node, lp.b.node);
      await this.installDefaultRoutes(this.routesNow ?? this.plan.routes, true);
      await this.restoreRoutesOver(lp);
    }
  }

  /**
   * A degraded (or restored) directed link, in emulated units: the commands of emulate/link-quality.ts. With
   * `dryRun`, only checks that this run can emulate it (throws as the real call would).
   */
  async setLinkQuality(linkId: string, quality: LinkQuality, dryRun = false): Promise<void> {
    const { tc, wire } = linkQualityCommands(this.plan, linkId, quality);
    if (dryRun) return;
    // The rate (the sender's tc channel) and the wire (a process in the receiver's namespace) at once.
    await Promise.all([
      tc ? this.commands.batch("tc", tc.ns, tc.cmds) : undefined,
      wire ? this.runner.run(wire) : undefined,
    ]);
  }

  /** Whether a directed link is up. */
  isLinkUp(linkId: string): boolean {
    return !this.down.has(linkId);
  }

  /**
   * Default routes reconverge: least-delay paths over the links that are up (`ip route replace` where a node's
   * next hop changed), as the substrate's own routing would after a failure or repair.
   */
  async reconverge(): Promise<void> {
    const topo = this.topology();
    const table = allPairsShortestPaths(topo, { weight: "delay", exclude: { links: this.downIndices() } });
    const routes: RoutePlan[][] = this.plan.nodes.map((_, u) =>
      this.plan.nodes.flatMap((nv) => {
        if (nv.index === u) return [];
        const p = table.path(u, nv.index);
        if (!p || p.length === 0) return [];
        const l = topo.links[p[0]!]!;
        const h = this.hop(u, l.dst)!;
        return [{ dst: nv.index, via: h.far.address, dev: h.near.dev }];
      }),
    );
    const before = this.routesNow ?? this.plan.routes;
    this.routesNow = routes;
    await this.installDefaultRoutes(routes, false, before);
  }

  /** Re-adds (replace) the hops of pinned routes and virtual-link tunnels whose paths cross cable `lp`. */
  private async restoreRoutesOver(lp: LinkPlan): Promise<void> {
    const ends = new Set([lp.a.node, lp.b.node]);
    const crosses = (path: readonly string[]) =>
      path.some((id, i) => i > 0 && ends.has(this.node(path[i - 1]!)) && ends.has(this.node(id)));
    const cmds = new Map<number, Cmd[]>();
    const add = (i: number, c: Cmd) => cmds.set(i, [...(cmds.get(i) ?? []), c]);
    for (const vl of this.state.virtualLinks) {
      if (!crosses(vl.path)) continue;
      const nodes = vl.path.map((id) => this.node(id));
      nodes.slice(1).forEach((x, i) => {
        const h = this.hop(nodes[i]!, x)!;
        add(nodes[i]!, routeReplace({ dst: `${vl.vteps[1]}/32`, via: h.far.address, dev: h.near.dev }));
        add(x, routeReplace({ dst: `${vl.vteps[0]}/32`, via: h.near.address, dev: h.far.dev }));
      });
    }
    for (const r of Object.values(this.state.routes)) {
      if (!crosses(r.path)) continue;
      const nodes = r.path.map((id) => this.node(id));
      const u = nodes[0]!;
      const v = nodes.at(-1)!;
      nodes.slice(1).forEach((x, i) => {
        const h = this.hop(nodes[i]!, x)!;
        add(
          nodes[i]!,
          routeReplace({
            dst: `${this.addr(v)}/32`,
            via: h.far.address,
            dev: h.near.dev,
            src: nodes[i] === u ? this.addr(u) : undefined,
            table: r.table,
          }),
        );
      });
    }
    await parallel([...cmds.keys()], (i) => this.runTolerant(i, cmds.get(i)!));
  }

  /**
   * Runs a namespace's commands as one batch; if the batch fails (a route via a device that is still down), runs
   * them one by one so the others still apply. Returns how many failed.
   */
  private async runTolerant(i: number, cmds: Cmd[]): Promise<number> {
    try {
      await this.commands.batch("ip", this.ns(i), cmds);
      return 0;
    } catch {
      let failed = 0;
      for (const c of cmds)
        failed += await this.commands.batch("ip", this.ns(i), [c]).then(
          () => 0,
          () => 1,
        );
      return failed;
    }
  }

  private async installDefaultRoutes(
    routes: RoutePlan[][],
    all: boolean,
    before?: RoutePlan[][],
  ): Promise<void> {
    const same = (a: RoutePlan | undefined, b: RoutePlan) => a?.via === b.via && a.dev === b.dev;
    await parallel(this.plan.nodes, async (nd, u) => {
      const cmds = routes[u]!.filter(
        (r) =>
          all ||
          !same(
            before?.[u]?.find((x) => x.dst === r.dst),
            r,
          ),
      ).map((r) => routeReplace({ dst: `${this.addr(r.dst)}/32`, via: r.via, dev: r.dev, src: nd.address }));
      // A route through a device that is down cannot be installed; it returns with reconvergence.
      await this.runTolerant(u, cmds);
    });
  }

  private planLink(linkId: string): LinkPlan {
    const lp = this.plan.links.find((l) => l.ids[0] === linkId || l.ids[1] === linkId);
    if (!lp) throw new ControlError(`run ${this.plan.runId}: unknown link "${linkId}"`);
    return lp;
  }

  private downIndices(): Set<number> {
    const topo = this.topology();
    return new Set([...this.down].map((id) => topo.link(id)));
  }

  /** The directed link id from node `u` to node `v` (first of parallel links). */
  private linkIdOf(u: number, v: number): string | undefined {
    const topo = this.topology();
    const l = topo.linksBetween(u, v)[0];
    return l === undefined ? undefined : topo.links[l]!.id;
  }

  // --- views ------------------------------------------------------------------------------------------------------

  /** Current virtual links, sorted by id (the Observation's shape). */
  virtualLinks(): VirtualLinkInfo[] {
    return this.state.virtualLinks
      .map((v) => ({
        id: v.id,
        src: v.src,
        dst: v.dst,
        path: v.path,
        rateBps: v.rateBps,
        secure: v.secure !== undefined,
        ready: true,
        createdNs: v.createdNs ?? v.createdMs * 1e6,
        activeFlows: 0, // not tracked in emulation yet (agents report per flow, not per virtual link)
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Virtual-link endpoints in use per node id. */
  vnaPool(): Map<string, { used: number; capacity: number }> {
    const m = new Map(this.plan.nodes.map((n) => [n.id, { used: 0, capacity: this.poolSize }]));
    for (const v of this.state.virtualLinks) for (const n of [v.src, v.dst]) m.get(n)!.used++;
    return m;
  }

  /**
   * Where the pair's new traffic goes now: its virtual link (the interceptor rule comes first), else its pinned
   * route, else the default routes (null when there is none); with the id of the virtual link when one carries it.
   */
  pathNow(src: string, dst: string): { path: NodePath | null; virtualLink: string | null } {
    const vl = this.state.virtualLinks.find((v) => v.src === src && v.dst === dst);
    if (vl) return { path: vl.path, virtualLink: vl.id };
    return {
      path: this.state.routes[pairKey(src, dst)]?.path ?? this.defaultPath(src, dst),
      virtualLink: null,
    };
  }

  /** Explicit routes (pair key -> path). */
  routes(): Map<string, NodePath> {
    return new Map(Object.entries(this.state.routes).map(([k, r]) => [k, r.path]));
  }

  // --- implementation --------------------------------------------------------------------------------------------

  private node(id: string): number {
    const n = this.plan.nodes.find((x) => x.id === id);
    if (!n) throw new UnknownNodeError(`run ${this.plan.runId}: unknown node "${id}"`);
    return n.index;
  }

  private ns(i: number): string {
    return this.plan.nodes[i]!.netns;
  }

  private addr(i: number): string {
    return this.plan.nodes[i]!.address;
  }

  /** The link from node `u` to node `v` (first of parallel links), or undefined. */
  private hop(u: number, v: number): Hop | undefined {
    for (const l of this.plan.links) {
      if (l.a.node === u && l.b.node === v) return { near: l.a, far: l.b, mtu: l.mtu };
      if (l.b.node === u && l.a.node === v) return { near: l.b, far: l.a, mtu: l.mtu };
    }
    return undefined;
  }

  /** The substrate's default path (following the static routes), node indices. */
  private defaultPathIndices(u: number, v: number): number[] {
    const path = [u];
    for (let x = u; x !== v; ) {
      const r = (this.routesNow ?? this.plan.routes)[x]!.find((y) => y.dst === v);
      const l = r && this.plan.links.find((k) => k.a.dev === r.dev || k.b.dev === r.dev);
      if (!r || !l || path.length > this.plan.nodes.length) {
        throw new NoPathError(`${this.plan.nodes[u]!.id} -> ${this.plan.nodes[v]!.id}: no route`);
      }
      x = l.a.dev === r.dev && l.a.node === x ? l.b.node : l.a.node;
      path.push(x);
    }
    return path;
  }

  /** Validates a node-id path from `u` to `v`; returns node indices and hops. */
  private resolvePath(u: number, v: number, path: NodePath | undefined): { nodes: number[]; hops: Hop[] } {
    const nodes = path ? path.map((id) => this.node(id)) : this.defaultPathIndices(u, v);
    const where = `path ${nodes.map((i) => this.plan.nodes[i]!.id).join(" -> ")}`;
    if (nodes[0] !== u || nodes.at(-1) !== v || nodes.length < 2) {
      throw new NoPathError(
        `${where}: must lead from ${this.plan.nodes[u]!.id} to ${this.plan.nodes[v]!.id}`,
      );
    }
    if (new Set(nodes).size !== nodes.length) throw new NoPathError(`${where}: visits a node twice`);
    const hops = nodes.slice(1).map((x, i) => {
      const h = this.hop(nodes[i]!, x);
      if (!h)
        throw new NoPathError(
          `${where}: no link ${this.plan.nodes[nodes[i]!]!.id} -> ${this.plan.nodes[x]!.id}`,
        );
      const id = this.linkIdOf(nodes[i]!, x);
      if (id !== undefined && this.down.has(id)) throw new LinkDownError(`${where}: link ${id} is down`);
      return h;
    });
    return { nodes, hops };
  }

  private pool(): AddressPool {
    return new AddressPool(this.plan.settings.addressBlock, this.plan.nodes.length).resume(
      this.plan.poolCursor,
    );
  }

  /**
   * Runs per-namespace batches in parallel (ip, then tc), each in one request per namespace with the other calls'
   * of this turn of the event loop (emulate/turn-batch.ts): a persona creates its tunnels together, and each phase
   * of theirs reaches a namespace as one request.
   */
  private async apply(ip: Map<number, Cmd[]>, tc: Map<number, Cmd[]> = new Map()): Promise<void> {
    const nodes = [...new Set([...ip.keys(), ...tc.keys()])].sort((a, b) => a - b);
    await parallel(nodes, async (i) => {
      if (ip.get(i)?.length) await this.batches.run("ip", this.ns(i), ip.get(i)!);
      if (tc.get(i)?.length) await this.batches.run("tc", this.ns(i), tc.get(i)!);
    });
  }

  private save(): void {
    // Re-read to keep fields other processes may have changed (status), then write ours.
    const onDisk = readState(this.plan.runId, this.dir);
    writeState(
      { ...(onDisk ?? this.state), ...this.state, status: onDisk?.status ?? this.state.status },
      this.dir,
    );
  }

  private async doCreate(srcId: string, dstId: string, opts: VirtualLinkOptions): Promise<string> {
    const caps = this.state.capabilities;
    const why = opts.secure && caps ? verbUnavailable("secureVirtualLink", caps) : null;
    if (why) throw new UnsupportedInEmulationError("createVirtualLink", `secure: ${why}`);
    const securePorts = opts.secure ? this.tunnelledPorts() : [];
    const u = this.node(srcId);
    const v = this.node(dstId);
    if (u === v) throw new NoPathError(`${srcId} -> ${dstId}: a virtual link needs two distinct nodes`);
    const pool = this.vnaPool();
    for (const id of [srcId, dstId]) {
      const p = pool.get(id)!;
      if (p.used >= p.capacity)
        throw new PoolExhaustedError(`node ${id}: all ${p.capacity} virtual-link endpoints in use`);
    }
    const { nodes, hops } = this.resolvePath(u, v, opts.path);
    // allocate
    const addresses = this.pool();
    const overlay = addresses.takeTop();
    const vteps = addresses.takeTop();
    this.plan.poolCursor = addresses.cursor;
    const k = this.state.nextVirtualLink++;
    const vni = this.state.nextVni++;
    const table = this.state.nextTable++;
    const rulePriority = VL_RULE_PRIORITY + (k % 10_000);
    const id = `vl${k}:${srcId}->${dstId}`;
    const devs: [string, string] = [
      ifName(this.plan.runId, "v", k, "a"),
      ifName(this.plan.runId, "v", k, "b"),
    ];
    const macs = [macAddress("v", k, "a"), macAddress("v", k, "b")];
    const mtu = Math.min(...hops.map((h) => h.mtu)) - VXLAN_OVERHEAD;
    const vl: VirtualLinkState = {
      id,
      src: srcId,
      dst: dstId,
      path: nodes.map((i) => this.plan.nodes[i]!.id),
      vni,
      rateBps: opts.rateBps ?? null,
      devs,
      overlay: [overlay.a, overlay.b],
      vteps: [vteps.a, vteps.b],
      table,
      rulePriority,
      createdMs: Date.now(),
      createdNs: Math.round(this.nowNs()),
    };
    // phase 1: pin the tunnel endpoints' host routes along the path (both directions)
    const pin = new Map<number, Cmd[]>();
    const add = (m: Map<number, Cmd[]>, i: number, ...c: Cmd[]) => m.set(i, [...(m.get(i) ?? []), ...c]);
    hops.forEach((h, i) => {
      add(pin, nodes[i]!, routeAdd({ dst: `${vteps.b}/32`, via: h.far.address, dev: h.near.dev }));
      add(pin, nodes[i + 1]!, routeAdd({ dst: `${vteps.a}/32`, via: h.near.address, dev: h.far.dev }));
    });
    add(pin, u, addrAdd("lo", `${vteps.a}/32`));
    add(pin, v, addrAdd("lo", `${vteps.b}/32`));
    // phase 2: the devices and the interceptors
    const ends = [
      {
        i: u,
        peer: v,
        dev: devs[0],
        mac: macs[0]!,
        me: overlay.a,
        other: overlay.b,
        otherMac: macs[1]!,
        local: vteps.a,
        remote: vteps.b,
      },
      {
        i: v,
        peer: u,
        dev: devs[1],
        mac: macs[1]!,
        me: overlay.b,
        other: overlay.a,
        otherMac: macs[0]!,
        local: vteps.b,
        remote: vteps.a,
      },
    ];
    const ip = new Map<number, Cmd[]>();
    const tc = new Map<number, Cmd[]>();
    for (const e of ends) {
      add(
        ip,
        e.i,
        vxlanAdd({
          name: e.dev,
          vni,
          local: e.local,
          remote: e.remote,
          dstport: this.plan.settings.vxlanPort,
          mtu,
          mac: e.mac,
        }),
        addrAdd(e.dev, `${e.me}/31`),
        linkUp(e.dev),
        neighReplace(e.other, e.otherMac, e.dev),
        routeAdd({ dst: `${this.addr(e.peer)}/32`, via: e.other, dev: e.dev, src: this.addr(e.i), table }),
      );
      if (opts.rateBps !== undefined) add(tc, e.i, ...htbLink(e.dev, opts.rateBps, mtu));
    }
    // phase 3, make before break: the interceptor, at the source only, once both ends (and the reservation) are up,
    // so no packet of the pair enters the tunnel before its far end exists. A virtual link carries its pair
    // src -> dst, as in the simulator; the reverse direction (the flows' ACKs, dst -> src flows) keeps its routes.
    const intercept = new Map([
      [u, [ruleAdd({ local: true, to: `${this.addr(v)}/32`, table, priority: rulePriority })]],
    ]);
    this.state.virtualLinks.push(vl);
    try {
      await this.apply(pin);
      await this.apply(ip, tc);
      if (opts.rateBps !== undefined)
        await this.qos.reserve(
          reservationKey(id),
          { nodes, hops },
          { src: vteps.a, dst: vteps.b, innerMtu: mtu },
          opts.rateBps,
        );
      await this.apply(intercept);
      if (opts.secure) vl.secure = await this.secureLinks.open(k, srcId, dstId, securePorts);
    } catch (e) {
      await this.teardownVirtualLink(vl).catch(() => {});
      this.state.virtualLinks = this.state.virtualLinks.filter((x) => x.id !== id);
      throw e;
    } finally {
      this.save();
    }
    return id;
  }

  /** The ports a secure virtual link tunnels: the option's, else the traffic agents'. */
  private tunnelledPorts(): number[] {
    const ports = [...new Set(this.securePorts ?? Object.values(this.state.applicationPorts ?? {}))].sort(
      (a, b) => a - b,
    );
    if (ports.length === 0)
      throw new UnsupportedInEmulationError(
        "createVirtualLink",
        "a secure virtual link needs the ports to tunnel: none given (securePorts) and no traffic agents yet",
      );
    return ports;
  }

  /** Removes everything of a virtual link, ignoring what is already gone (used for rollback too). */
  private async teardownVirtualLink(vl: VirtualLinkState): Promise<void> {
    const u = this.node(vl.src);
    const v = this.node(vl.dst);
    const nodes = vl.path.map((id) => this.node(id));
    // Every line tried (a forced batch goes on after a failing one), whatever is already gone.
    const run = (i: number, cmds: Cmd[]) => this.commands.batch("ip", this.ns(i), cmds, { check: false });
    if (vl.secure) await this.secureLinks.close(vl.src, vl.secure);
    // Break before unmake: the interceptor first (the pair's new packets take their routes again), then, once what
    // is in the tunnel has arrived (its path's delay), the reservation, the devices and the tunnel's routes.
    await run(u, [ruleDel(vl.rulePriority), routeFlushTable(vl.table)]);
    await new Promise((ok) => setTimeout(ok, this.drainMs(nodes)));
    await this.qos.release(reservationKey(vl.id));
    await parallel([u, v], (i) => run(i, [linkDel(vl.devs[i === u ? 0 : 1])]));
    await parallel(nodes, (i) =>
      run(i, [
        routeDel(`${vl.vteps[1]}/32`),
        routeDel(`${vl.vteps[0]}/32`),
        ...(i === u ? [addrDel("lo", `${vl.vteps[0]}/32`)] : []),
        ...(i === v ? [addrDel("lo", `${vl.vteps[1]}/32`)] : []),
      ]),
    );
  }

  /**
   * Wall ms for what is in a tunnel over `nodes` (indices) to arrive: the path's one-way delay (emulated, so
   * divided by the time compression) plus 10 ms of queueing, at most 200.
   */
  private drainMs(nodes: readonly number[]): number {
    let ns = 0;
    for (let i = 0; i + 1 < nodes.length; i++) {
      const l = this.plan.links.find(
        (k) =>
          (k.a.node === nodes[i] && k.b.node === nodes[i + 1]) ||
          (k.b.node === nodes[i] && k.a.node === nodes[i + 1]),
      );
      ns += l ? Math.max(l.delayNs[0], l.delayNs[1] ?? 0) : 0;
    }
    return Math.min(200, Math.ceil(ns / 1e6) + 10);
  }

  private async doRemove(id: string): Promise<void> {
    const vl = this.state.virtualLinks.find((x) => x.id === id);
    if (!vl) throw new NoPathError(`removeVirtualLink: no virtual link "${id}" in run ${this.plan.runId}`);
    await this.teardownVirtualLink(vl);
    this.state.virtualLinks = this.state.virtualLinks.filter((x) => x.id !== id);
    this.save();
  }
}
