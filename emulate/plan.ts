/**
 * The build plan of an emulated substrate: a pure function of the topology, the run id, the chosen mechanisms and
 * the emulation settings. It names every namespace, interface and address, and lists the commands of each stage;
 * substrate.ts only executes it. The plan is plain JSON and is saved in the run's state file, so later processes
 * (teardown, the control plane, `exec`) know the run without asking the kernel.
 *
 * What is emulated how (one undirected link = a pair of directed links `a->b`, `b->a`):
 * - node: a namespace with its node address (/32) on `lo`, IPv4 forwarding on, IPv6 off;
 * - plain link (no delay and no loss, or `delay: "ignore"`): a veth pair `e<i>a`/`e<i>b` with a /31;
 * - wired link (delay or loss > 0 without netem): an underlay veth pair `u<i>a`/`u<i>b` (own /31, MTU + 50) and,
 *   over it, VXLAN devices `w<i>a`/`w<i>b` (VNI = link index + 1, the link's /31 and MTU) whose datagrams go to the
 *   receiving namespace's relay (wire-relay.ts), which applies that direction's delay and loss;
 * - with netem: the veth pair with a netem leaf under the htb class (delay, loss);
 * - rate: htb on the egress of each end (`a` end: rate of `a->b`), on the veth or, for a wire, the VXLAN device,
 *   so the limit counts inner Ethernet frames either way; tbf when htb is missing; with neither, the relay paces;
 * - routes: one static /32 route per (node, other node) along the least-delay path (routing.ts order), next hop
 *   the far end of the first link, source the node address; no default route, nothing connects to the root
 *   namespace. Neighbour entries are permanent (deterministic MACs), so no ARP crosses a link.
 */

import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { AddressPool, DEFAULT_BLOCK } from "./addressing.ts";
import type { Mechanisms } from "./capability-types.ts";
import type { Cmd } from "./commands.ts";
import {
  addrAdd,
  fdbDefault,
  htbLink,
  linkUp,
  neighReplace,
  netemLeaf,
  netnsAdd,
  routeAdd,
  sysctlArgv,
  tbfLink,
  vethAdd,
  vxlanAdd,
} from "./commands.ts";
import { EmulationError } from "./errors.ts";
import { ifName, macAddress, netnsNames, runPrefix } from "./names.ts";
import { nftDev } from "./nft.ts";
import type { RelayConfig } from "./wire-relay.ts";

/** Emulation settings (the `emulation` section of a config). */
export interface EmulationSettings {
  /** Private IPv4 block for every address of the run. @default "10.213.0.0/16" */
  addressBlock?: string;
  /**
   * Delay and loss: "auto" (netem if the kernel has it, else the userspace wire), "netem", "wire", or "ignore"
   * (links get no delay or loss; the plan lists what was dropped). @default "auto"
   */
  delay?: "auto" | "netem" | "wire" | "ignore";
  /** Rate limits: "auto" (htb, else tbf, else the wire's relay when wired, else dropped), or one of them. */
  rate?: "auto" | "htb" | "tbf" | "none";
  /** UDP port of every VXLAN device. @default 4789 */
  vxlanPort?: number;
  /** UDP port of the wire relays. @default 4790 */
  relayPort?: number;
  /** Seed of the relays' loss draws. @default 1 */
  seed?: number;
  /**
   * Buffer of every rate-limited link end as queueing delay at the link's rate, ns (a byte FIFO of one
   * bandwidth-delay product); null: a 1000-packet FIFO. @default null
   */
  queueNs?: number | null;
}

export const DEFAULTS = {
  addressBlock: DEFAULT_BLOCK,
  delay: "auto",
  rate: "auto",
  vxlanPort: 4789,
  relayPort: 4790,
  seed: 1,
  queueNs: null,
} as const satisfies Required<EmulationSettings>;

export interface NodePlan {
  id: string;
  index: number;
  netns: string;
  /** Node address (on lo). */
  address: string;
}

/** One end of a link: its device, MAC and /31 address. */
export interface LinkEnd {
  node: number;
  dev: string;
  mac: string;
  address: string;
  /** Egress rate (the directed link leaving this end), bits/s, or null when unlimited. */
  rateBps: number | null;
  /** Delay and loss of the directed link *arriving* at this end. */
  inDelayNs: number;
  inLossRate: number;
}

export interface LinkPlan {
  /** Undirected index (order of first appearance among directed links). */
  index: number;
  /** Directed link ids, `a->b` and `b->a` (or null for a one-way link). */
  ids: [string, string | null];
  kind: "veth" | "wire";
  /** Configured one-way delays of `a->b` and `b->a` (null for a one-way link), ns, emulated or not. */
  delayNs: [number, number | null];
  a: LinkEnd;
  b: LinkEnd;
  mtu: number;
  /** For a wire: the underlay veth ends and the VNI. */
  wire?: { vni: number; a: { dev: string; address: string }; b: { dev: string; address: string } };
}

export interface RoutePlan {
  /** Destination node index. */
  dst: number;
  via: string;
  dev: string;
}

export interface Plan {
  runId: string;
  prefix: string;
  topology: string;
  settings: Required<EmulationSettings>;
  mechanisms: { rate: "htb" | "tbf" | "relay" | "none"; delay: "netem" | "wire" | "none" };
  nodes: NodePlan[];
  links: LinkPlan[];
  /** Default next hop per node (index) and destination node, in destination order. */
  routes: RoutePlan[][];
  /**
   * Sinks with several incoming links (an intent mesh's anycast nodes), each with the reverse side of every
   * incoming link's veth, in link order: their replies leave the way the request came in ({@link sinkReplyCommands}).
   * Absent in plans of topologies without such sinks.
   */
  sinkReplies?: { node: number; ends: { dev: string; via: string }[] }[];
  /** Where the address pool stands after the substrate (the control plane continues from here). */
  poolCursor: { low: number; high: number };
  /** Configured properties that are not emulated, one sentence each. */
  dropped: string[];
}

/** Resolves "auto" settings against the kernel's mechanisms; throws when an explicit choice is unavailable. */
function resolveMechanisms(s: Required<EmulationSettings>, m: Mechanisms): Plan["mechanisms"] {
  const delay = s.delay === "auto" ? m.delay : s.delay === "ignore" ? "none" : s.delay;
  if (s.delay === "netem" && m.delay !== "netem")
    throw new EmulationError("emulation.delay: netem is not available on this kernel");
  if (s.delay === "wire" && m.delay === "none")
    throw new EmulationError("emulation.delay: the wire needs VXLAN, which this kernel lacks");
  let rate: Plan["mechanisms"]["rate"] = s.rate === "auto" ? m.rate : s.rate;
  if (
    s.rate !== "auto" &&
    s.rate !== "none" &&
    m.rate !== s.rate &&
    !(s.rate === "tbf" && m.rate === "htb")
  ) {
    throw new EmulationError(`emulation.rate: ${s.rate} is not available on this kernel`);
  }
  if (rate === "none" && s.rate === "auto" && delay === "wire") rate = "relay";
  return { rate, delay };
}

/** Builds the plan; throws {@link EmulationError} when the topology does not fit the names or the address block. */
export function planSubstrate(
  topo: Topology,
  runId: string,
  mech: Mechanisms,
  settings: EmulationSettings = {},
): Plan {
  const s: Required<EmulationSettings> = { ...DEFAULTS, ...settings };
  const mechanisms = resolveMechanisms(s, mech);
  const pool = new AddressPool(s.addressBlock, topo.nodeCount);
  const names = netnsNames(
    runId,
    topo.nodes.map((n) => n.id),
  );
  const nodes: NodePlan[] = topo.nodes.map((n, i) => ({
    id: n.id,
    index: i,
    netns: names[i]!,
    address: pool.nodeAddress(i),
  }));
  const dropped: string[] = [];
  const links: LinkPlan[] = [];
  const undirectedOf = new Int32Array(topo.linkCount).fill(-1);
  for (const l of topo.links) {
    if (undirectedOf[l.index]! >= 0) continue;
    const r = l.reverse >= 0 ? topo.links[l.reverse]! : undefined;
    const index = links.length;
    undirectedOf[l.index] = index;
    if (r) undirectedOf[r.index] = index;
    const impaired = [l, r].some((d) => d !== undefined && (d.delayNs > 0 || d.lossRate > 0));
    const kind = impaired && mechanisms.delay === "wire" ? "wire" : "veth";
    if (impaired && mechanisms.delay === "none")
      dropped.push(`link ${l.id}: delay and loss not emulated (emulation.delay = ${s.delay})`);
    const k = kind === "wire" ? "w" : "e";
    const sub = pool.takeLink();
    const end = (
      node: number,
      side: "a" | "b",
      address: string,
      out: typeof l | undefined,
      inn: typeof l | undefined,
    ): LinkEnd => ({
      node,
      dev: ifName(runId, k, index, side),
      mac: macAddress(k, index, side),
      address,
      rateBps: out && mechanisms.rate !== "none" ? out.capacityBps : null,
      inDelayNs: inn && mechanisms.delay !== "none" ? inn.delayNs : 0,
      inLossRate: inn && mechanisms.delay !== "none" ? inn.lossRate : 0,
    });
    const plan: LinkPlan = {
      index,
      ids: [l.id, r?.id ?? null],
      kind,
      delayNs: [l.delayNs, r ? r.delayNs : null],
      a: end(l.src, "a", sub.a, l, r),
      b: end(l.dst, "b", sub.b, r, l),
      mtu: l.mtuBytes,
    };
    if (kind === "wire") {
      const u = pool.takeLink();
      plan.wire = {
        vni: index + 1,
        a: { dev: ifName(runId, "u", index, "a"), address: u.a },
        b: { dev: ifName(runId, "u", index, "b"), address: u.b },
      };
    }
    links.push(plan);
  }
  if (mechanisms.rate === "none" && topo.linkCount > 0)
    dropped.push(`all links: rate not limited (emulation.rate = ${s.rate})`);
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const routes: RoutePlan[][] = topo.nodes.map((u) =>
    topo.nodes.flatMap((v) => {
      if (u.index === v.index) return [];
      const p = table.path(u.index, v.index);
      if (!p || p.length === 0) return sinkReturn(topo, links, undirectedOf, u.index, v.index);
      const first = topo.links[p[0]!]!;
      const lp = links[undirectedOf[first.index]!]!;
      const [near, far] =
        lp.a.node === u.index && topo.links[p[0]!]!.id === lp.ids[0] ? [lp.a, lp.b] : [lp.b, lp.a];
      return [{ dst: v.index, via: far.address, dev: near.dev }];
    }),
  );
  const sinkReplies = topo.nodes.flatMap((u) => {
    const ins = topo.inLinks[u.index]!;
    if (topo.outLinks[u.index]!.length > 0 || ins.length < 2) return [];
    const ends = ins.map((l) => {
      const lp = links[undirectedOf[l]!]!;
      return { dev: lp.b.dev, via: lp.a.address };
    });
    return [{ node: u.index, ends }];
  });
  return {
    runId,
    prefix: runPrefix(runId),
    topology: topo.name,
    settings: s,
    mechanisms,
    nodes,
    links,
    routes,
    ...(sinkReplies.length > 0 ? { sinkReplies } : {}),
    poolCursor: pool.cursor,
    dropped,
  };
}

/** Routing tables and rule priorities of a sink's reply paths: 500 + the incoming link's position. */
const SINK_REPLY_TABLE = 500;

/**
 * A sink's replies over the link their connection came in on (symmetric paths, as the simulator's flows assume):
 * conntrack marks each connection with its incoming link's position + 1 (nftables, prerouting), the output route
 * hook copies the mark onto the sink's own packets, and a rule per mark sends them to a table whose default route
 * is that link's neighbour. Packets of connections the sink opens itself keep mark 0 and its main routes
 * ({@link sinkReturn}). Without this, every reply left by the first incoming link: an instance other than the
 * first answered its clients the long way round. Empty for other nodes.
 */
export function sinkReplyCommands(plan: Plan, i: number): { ip: Cmd[]; nft: string[] } {
  const sink = plan.sinkReplies?.find((r) => r.node === i);
  if (!sink) return { ip: [], nft: [] };
  const ip: Cmd[] = [];
  const marks: string[] = [];
  sink.ends.forEach((e, j) => {
    const t = String(SINK_REPLY_TABLE + j);
    ip.push(["rule", "add", "fwmark", String(j + 1), "table", t, "priority", t]);
    ip.push(["route", "add", "default", "via", e.via, "dev", e.dev, "table", t]);
    marks.push(`add rule inet tc_sink pre iifname ${nftDev(e.dev)} ct state new ct mark set ${j + 1}`);
  });
  const nft = [
    "add table inet tc_sink",
    "add chain inet tc_sink pre { type filter hook prerouting priority -150 ; }",
    "add chain inet tc_sink out { type route hook output priority -150 ; }",
    ...marks,
    "add rule inet tc_sink out meta mark set ct mark",
  ];
  return { ip, nft };
}

// --- stages ----------------------------------------------------------------------------------------------------

/** Stage 1, one `ip -batch` in the caller's namespace: every namespace, then every veth created in place. */
export function rootCommands(plan: Plan): Cmd[] {
  const ns = (i: number) => plan.nodes[i]!.netns;
  const cmds: Cmd[] = plan.nodes.map((n) => netnsAdd(n.netns));
  for (const l of plan.links) {
    if (l.wire) {
      const { a, b } = l.wire;
      cmds.push(
        vethAdd({ name: a.dev, netns: ns(l.a.node), peer: b.dev, peerNetns: ns(l.b.node), mtu: l.mtu + 50 }),
      );
    } else {
      cmds.push(
        vethAdd({
          name: l.a.dev,
          netns: ns(l.a.node),
          peer: l.b.dev,
          peerNetns: ns(l.b.node),
          mtu: l.mtu,
          mac: l.a.mac,
          peerMac: l.b.mac,
        }),
      );
    }
  }
  return cmds;
}

/** The link ends at each node, in link order. */
export function endsAt(plan: Plan): { link: LinkPlan; near: LinkEnd; far: LinkEnd; side: "a" | "b" }[][] {
  const at: { link: LinkPlan; near: LinkEnd; far: LinkEnd; side: "a" | "b" }[][] = plan.nodes.map(() => []);
  for (const l of plan.links) {
    at[l.a.node]!.push({ link: l, near: l.a, far: l.b, side: "a" });
    at[l.b.node]!.push({ link: l, near: l.b, far: l.a, side: "b" });
  }
  return at;
}

/** Stage 2 for node `i`: `sysctl` argv (run via `ip netns exec`). */
export function sysctlCommand(plan: Plan, i: number): string[] {
  return sysctlArgv(plan.nodes[i]!.netns);
}

/** Stage 2 for node `i`, one `ip -n <ns> -batch`: lo, addresses, wires' VXLAN devices, neighbours, routes. */
export function nodeCommands(plan: Plan, i: number): Cmd[] {
  const node = plan.nodes[i]!;
  const cmds: Cmd[] = [linkUp("lo"), addrAdd("lo", `${node.address}/32`)];
  for (const { link, near, far, side } of endsAt(plan)[i]!) {
    if (link.wire) {
      const u = link.wire[side];
      cmds.push(addrAdd(u.dev, `${u.address}/31`), linkUp(u.dev));
      cmds.push(
        vxlanAdd({
          name: near.dev,
          vni: link.wire.vni,
          local: u.address,
          dstport: plan.settings.vxlanPort,
          mtu: link.mtu,
          mac: near.mac,
          gsoMaxSegs: 1,
        }),
      );
    }
    cmds.push(
      addrAdd(near.dev, `${near.address}/31`),
      linkUp(near.dev),
      neighReplace(far.address, far.mac, near.dev),
    );
  }
  for (const r of plan.routes[i]!)
    cmds.push(
      routeAdd({ dst: `${plan.nodes[r.dst]!.address}/32`, via: r.via, dev: r.dev, src: node.address }),
    );
  return cmds;
}

/** Stage 2 for node `i`, one `tc -n <ns> -batch`: the egress rate (and netem) of every link end. */
export function tcCommands(plan: Plan, i: number): Cmd[] {
  const cmds: Cmd[] = [];
  for (const { link, near } of endsAt(plan)[i]!) {
    if (near.rateBps === null) continue;
    if (plan.mechanisms.rate === "htb") {
      cmds.push(...htbLink(near.dev, near.rateBps, link.mtu, plan.settings.queueNs ?? undefined));
      if (plan.mechanisms.delay === "netem" && link.kind === "veth") {
        const far = near === link.a ? link.b : link.a;
        if (far.inDelayNs > 0 || far.inLossRate > 0)
          cmds.push(netemLeaf(near.dev, "1:10", far.inDelayNs, far.inLossRate));
      }
    } else if (plan.mechanisms.rate === "tbf")
      cmds.push(...tbfLink(near.dev, near.rateBps, link.mtu, plan.settings.queueNs ?? undefined));
  }
  return cmds;
}

/** Stage 2 for node `i`, one `bridge -n <ns> -batch`: each wire's VXLAN sends to the far end's relay port. */
export function bridgeCommands(plan: Plan, i: number): Cmd[] {
  return endsAt(plan)[i]!.flatMap(({ link, near, side }) =>
    link.wire
      ? [fdbDefault(near.dev, link.wire[side === "a" ? "b" : "a"].address, plan.settings.relayPort)]
      : [],
  );
}

/** Stage 3: the relay of node `i`, or undefined when no wire arrives there. */
export function relayConfig(plan: Plan, i: number): RelayConfig | undefined {
  const wires = endsAt(plan)[i]!.flatMap(({ link, near, far }) => {
    if (!link.wire) return [];
    const rateBps = plan.mechanisms.rate === "relay" ? far.rateBps : null;
    return [
      {
        vni: link.wire.vni,
        delayNs: near.inDelayNs,
        lossRate: near.inLossRate,
        rateBps,
        queueBytes: 1000 * (link.mtu + 64),
      },
    ];
  });
  if (wires.length === 0) return undefined;
  return {
    port: plan.settings.relayPort,
    vxlanPort: plan.settings.vxlanPort,
    seed: plan.settings.seed * 100_003 + i,
    wires,
  };
}

/**
 * A sink (a node with incoming links but no outgoing one, as an intent mesh's anycast node) still has to answer
 * TCP: its packets to every node go back over the reverse side of its first incoming link's veth (no rate limit,
 * no delay: the topology has no such link), and on from that neighbour along its routes. Other nodes without a
 * path to `v` get no route.
 */
function sinkReturn(
  topo: Topology,
  links: readonly LinkPlan[],
  undirectedOf: Int32Array,
  u: number,
  v: number,
): RoutePlan[] {
  if (topo.outLinks[u]!.length > 0 || topo.inLinks[u]!.length === 0) return [];
  const lp = links[undirectedOf[topo.inLinks[u]![0]!]!]!;
  return [{ dst: v, via: lp.a.address, dev: lp.b.dev }];
}
