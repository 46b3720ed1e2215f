/**
 * mirror in emulation (design 2): a pair's packets are copied at their source into a VXLAN tunnel toward their
 * destination over the mirror path; the destination's TCP takes whichever copy of a segment comes first and
 * discards the later one as a duplicate. Per mirror k of pair (u -> v) on path P:
 *
 * - tunnel: two fresh addresses (the tunnel endpoints, /32 on `lo` at u and v) whose host route toward v's endpoint
 *   is pinned hop by hop along P; a VXLAN device `m<k>a` at u (remote: v's endpoint) and `m<k>b` at v (VNI from the
 *   run's counter). Copies of full-size segments exceed the links' MTU by the 50 bytes of VXLAN and are fragmented
 *   on the way (the VXLAN header has DF unset) and reassembled at v.
 * - copy: at u, a `clsact` qdisc on every link device and on each an egress u32 filter (priority 200 + k) matching
 *   the pair's addresses with `action mirred egress mirror dev m<k>a`: whichever way the pair's packets leave u
 *   (default, pinned route), they are copied. Traffic a virtual link carries leaves through its own VXLAN device
 *   and is not mirrored.
 * - delivery: the copies arrive at v with the first hop's MAC as destination, which the kernel would drop as
 *   another host's; an nft `netdev` ingress chain on `m<k>b` sets `meta pkttype host`.
 * - feedback, at v (nft `inet` prerouting chain `m<k>`, priority -300): counters of the pair's packets arriving by
 *   each path, and of data segments (IP length > 64 bytes) that each path delivered first: two dynamic sets keyed
 *   by (TCP source port, sequence number) remember which segments each path brought (2 s); a segment whose key the
 *   other path's set already holds is a late copy. At u, an nft `output` chain counts the pair's packets sent (the
 *   copies the mirror sent, and with them the mirrored bytes: sent bytes + 50 per packet).
 *   For the keys of both copies to match, segments must not be merged or split differently on the two paths: while
 *   u is a mirror's source its link devices send one segment per packet (`gso_max_segs 1`), and while v is a
 *   mirror's destination its link devices and mirror devices merge nothing (`gro_max_size 1600`); the values the
 *   substrate gave them are restored when the node's last mirror goes.
 *
 * Removal (`mirror(pair, null)`, or a new path for the pair) deletes exactly these objects, and the tables and
 * qdiscs once the node has no mirror left. The counters are read by a poller (every `pollMs` wall ms, 250 by default, while mirrors
 * exist, and on {@link EmulationMirrors.refresh}); {@link EmulationMirrors.stats} turns them into the
 * Observation's {@link MirrorStats} over the interval.
 */
import { type MirrorStats, type NodePath, type Pair, pairKey } from "../models/policies/types.ts";
import { addrAdd, addrDel, type Cmd, linkDel, linkUp, routeAdd, routeDel, vxlanAdd } from "./commands.ts";
import type { ControlContext, Hop } from "./control-context.ts";
import { UnsupportedInEmulationError } from "./errors.ts";
import { ifName } from "./names.ts";
import { nftAddr, nftComment, nftDev, nftIdent, type RuleCounter } from "./nft.ts";
import type { MirrorState } from "./run-state.ts";
import { parallel } from "./runner.ts";
import { verbUnavailable } from "./verb-support.ts";

/** u32 filter priority of mirror k's copy filters: 200 + k. */
export const MIRROR_FILTER_PRIO = 200;
/** VXLAN encapsulation: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 bytes. */
export const VXLAN_OVERHEAD_BYTES = 50;
/** While a node receives mirrors, its devices merge no segments (GRO) beyond one full frame. */
export const MIRROR_GRO_MAX = 1600;

/** The nft tables of the run's mirrors in a namespace. */
export function mirrorTables(prefix: string): { inet: string; netdev: string } {
  return { inet: nftIdent(`${prefix}_mir`), netdev: nftIdent(`${prefix}_mirdev`) };
}

/** `qdisc add dev D clsact` and the egress u32 filter copying the pair's packets into `to`. */
export function mirredFilter(dev: string, prio: number, src: string, dst: string, to: string): Cmd {
  return [
    "filter",
    "add",
    "dev",
    dev,
    "egress",
    "protocol",
    "ip",
    "prio",
    String(prio),
    "u32",
    "match",
    "ip",
    "src",
    `${src}/32`,
    "match",
    "ip",
    "dst",
    `${dst}/32`,
    "action",
    "mirred",
    "egress",
    "mirror",
    "dev",
    to,
  ];
}
export const clsactAdd = (dev: string): Cmd => ["qdisc", "add", "dev", dev, "clsact"];
export const clsactDel = (dev: string): Cmd => ["qdisc", "del", "dev", dev, "clsact"];
export const egressFilterDel = (dev: string, prio: number): Cmd => [
  "filter",
  "del",
  "dev",
  dev,
  "egress",
  "prio",
  String(prio),
];
export const linkGsoMaxSegs = (dev: string, segs: number): Cmd => [
  "link",
  "set",
  "dev",
  dev,
  "gso_max_segs",
  String(segs),
];
export const linkGroMaxSize = (dev: string, bytes: number): Cmd => [
  "link",
  "set",
  "dev",
  dev,
  "gro_max_size",
  String(bytes),
];

/** nft lines at the mirror's source: a counter of the pair's packets leaving it. */
export function mirrorSourceNft(table: string, k: number, src: string, dst: string): string[] {
  return [
    `add table inet ${table}`,
    `add chain inet ${table} m${k} { type filter hook output priority 0; policy accept; }`,
    `add rule inet ${table} m${k} ip saddr ${nftAddr(src)} ip daddr ${nftAddr(dst)} counter ${nftComment(`m${k}_sent`)}`,
  ];
}

/** nft lines at the mirror's destination: copies accepted as this host's, per-path arrival counters. */
export function mirrorDestinationNft(
  tables: { inet: string; netdev: string },
  k: number,
  dev: string,
  src: string,
  dst: string,
): string[] {
  const { inet, netdev } = tables;
  const pair = `ip saddr ${nftAddr(src)} ip daddr ${nftAddr(dst)}`;
  const seg = `${pair} ip length > 64`;
  const key = "tcp sport . tcp sequence";
  const viaMirror = `iifname ${nftDev(dev)}`;
  const viaPrimary = `iifname != ${nftDev(dev)}`;
  const set = (name: string) =>
    `add set inet ${inet} ${name} { typeof ${key}; flags dynamic,timeout; timeout 2s; size 262144; }`;
  const rule = (body: string, comment: string) =>
    `add rule inet ${inet} m${k} ${body} ${nftComment(`m${k}_${comment}`)}`;
  return [
    `add table netdev ${netdev}`,
    `add chain netdev ${netdev} m${k} { type filter hook ingress device ${nftDev(dev)} priority 0; policy accept; }`,
    `add rule netdev ${netdev} m${k} meta pkttype set host`,
    `add table inet ${inet}`,
    set(`m${k}_p`),
    set(`m${k}_m`),
    `add chain inet ${inet} m${k} { type filter hook prerouting priority -300; policy accept; }`,
    rule(`${viaMirror} ${pair} counter`, "mirror_in"),
    rule(`${viaPrimary} ${pair} counter`, "primary_in"),
    rule(`${viaMirror} ${seg} ${key} @m${k}_p counter accept`, "mirror_late"),
    rule(`${viaMirror} ${seg} add @m${k}_m { ${key} } counter accept`, "mirror_first"),
    rule(`${viaPrimary} ${seg} ${key} @m${k}_m counter accept`, "primary_late"),
    rule(`${viaPrimary} ${seg} add @m${k}_p { ${key} } counter accept`, "primary_first"),
  ];
}

/** nft lines removing mirror k's chains and sets (or, when `dropTables`, both tables of the node's mirrors). */
export function mirrorNftTeardown(
  tables: { inet: string; netdev: string },
  k: number,
  role: "src" | "dst",
  dropTables: boolean,
): string[] {
  const { inet, netdev } = tables;
  // Both tables, whatever the role: a node that was a destination and then only a source still has its netdev
  // table. `add` first makes each delete succeed when the table is not there (one transaction: all or nothing).
  if (dropTables)
    return [
      `add table inet ${inet}`,
      `delete table inet ${inet}`,
      `add table netdev ${netdev}`,
      `delete table netdev ${netdev}`,
    ];
  const chain = (family: string, t: string) => [
    `flush chain ${family} ${t} m${k}`,
    `delete chain ${family} ${t} m${k}`,
  ];
  return role === "src"
    ? chain("inet", inet)
    : [
        ...chain("inet", inet),
        `delete set inet ${inet} m${k}_p`,
        `delete set inet ${inet} m${k}_m`,
        ...chain("netdev", netdev),
      ];
}

/** Counters of one mirror (cumulative since it was set). */
export interface MirrorCounters {
  sent: RuleCounter;
  mirrorIn: RuleCounter;
  primaryIn: RuleCounter;
  mirrorFirst: number;
  mirrorLate: number;
  primaryFirst: number;
  primaryLate: number;
}

const ZERO: MirrorCounters = {
  sent: { packets: 0, bytes: 0 },
  mirrorIn: { packets: 0, bytes: 0 },
  primaryIn: { packets: 0, bytes: 0 },
  mirrorFirst: 0,
  mirrorLate: 0,
  primaryFirst: 0,
  primaryLate: 0,
};

export interface MirrorOptions {
  /** Wall ms between counter readings while mirrors exist. @default 250 */
  pollMs?: number;
}

export class EmulationMirrors {
  private readonly latest = new Map<number, MirrorCounters>();
  /** Counters at the last consuming {@link stats}, per mirror. */
  private readonly base = new Map<number, MirrorCounters>();
  /** Mirrored bytes (copies sent, with encapsulation) of mirrors already removed. */
  private removedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private readonly pollMs: number;
  /** Per node id: the last mirror change that touches it (as source or destination), done or not. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: ControlContext,
    opts: MirrorOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 250;
  }

  private get mirrors(): MirrorState[] {
    this.ctx.state.mirrors ??= [];
    return this.ctx.state.mirrors;
  }

  private get tables() {
    return mirrorTables(this.ctx.plan.prefix);
  }

  /** The pair's mirror, if any. */
  of(src: string, dst: string): MirrorState | undefined {
    return this.mirrors.find((m) => m.src === src && m.dst === dst);
  }

  /** Mirrors in place, sorted by pair. */
  list(): readonly MirrorState[] {
    return [...this.mirrors].sort((a, b) => (a.pair < b.pair ? -1 : a.pair > b.pair ? 1 : 0));
  }

  /**
   * Mirrors the pair onto `path` (replacing a mirror it has), or removes its mirror (`null`).
   * @throws UnknownNodeError, NoPathError, LinkDownError (the path)
   */
  set(pair: Pair, path: NodePath | null): Promise<void> {
    // Changes sharing an end node run one at a time, in call order: mirrors with a common source or destination
    // share its qdiscs, nft tables and saved device settings. Changes on other nodes run meanwhile (what a path's
    // transit nodes get, a host route to the mirror's own endpoint address, is the mirror's alone).
    const ends = [...new Set([pair.src, pair.dst])];
    const before = Promise.all(ends.map((n) => this.tails.get(n)));
    const next = before.then(() => this.apply(pair, path));
    const tail = next.catch(() => {});
    for (const n of ends) this.tails.set(n, tail);
    void tail.then(() => {
      for (const n of ends) if (this.tails.get(n) === tail) this.tails.delete(n);
    });
    return next;
  }

  private async apply(pair: Pair, path: NodePath | null): Promise<void> {
    const { ctx } = this;
    const caps = ctx.state.capabilities;
    const why = caps ? verbUnavailable("mirror", caps) : null;
    if (why) throw new UnsupportedInEmulationError("mirror", why);
    const u = ctx.node(pair.src);
    const v = ctx.node(pair.dst);
    const resolved = path === null ? undefined : ctx.resolvePath(u, v, path);
    const old = this.of(pair.src, pair.dst);
    if (old) await this.remove(old);
    if (resolved) await this.create(pair, u, v, resolved);
    this.updatePolling();
  }

  private async create(pair: Pair, u: number, v: number, r: { nodes: number[]; hops: Hop[] }): Promise<void> {
    const { ctx } = this;
    const k = ctx.state.nextMirror ?? 0;
    ctx.state.nextMirror = k + 1;
    const vni = ctx.state.nextVni++;
    const vteps = ctx.takeAddresses();
    const runId = ctx.plan.runId;
    const devs: [string, string] = [ifName(runId, "m", k, "a"), ifName(runId, "m", k, "b")];
    const egress = ctx.plan.links
      .flatMap((l) => [l.a, l.b])
      .filter((e) => e.node === u)
      .map((e) => e.dev);
    const m: MirrorState = {
      pair: pairKey(pair.src, pair.dst),
      src: pair.src,
      dst: pair.dst,
      path: r.nodes.map((i) => ctx.plan.nodes[i]!.id),
      k,
      vni,
      devs,
      vteps: [vteps.a, vteps.b],
      prio: MIRROR_FILTER_PRIO + k,
      egress,
    };
    const firstAsSrc = !this.mirrors.some((x) => x.src === pair.src);
    const firstAsDst = !this.mirrors.some((x) => x.dst === pair.dst);
    this.mirrors.push(m);
    ctx.save();
    try {
      await this.install(m, u, v, r.hops, r.nodes, { firstAsSrc, firstAsDst });
    } catch (e) {
      await this.remove(m).catch(() => {});
      throw e;
    }
    this.latest.set(k, ZERO);
    this.base.set(k, ZERO);
  }

  /** The link devices at node `i`. */
  private linkDevs(i: number): string[] {
    return this.ctx.plan.links
      .flatMap((l) => [l.a, l.b])
      .filter((e) => e.node === i)
      .map((e) => e.dev);
  }

  private async install(
    m: MirrorState,
    u: number,
    v: number,
    hops: Hop[],
    nodes: number[],
    first: { firstAsSrc: boolean; firstAsDst: boolean },
  ): Promise<void> {
    const { ctx } = this;
    const [vtepA, vtepB] = m.vteps;
    const port = ctx.plan.settings.vxlanPort;
    const ip = new Map<number, Cmd[]>();
    const add = (i: number, ...c: Cmd[]) => ip.set(i, [...(ip.get(i) ?? []), ...c]);
    hops.forEach((h, i) => {
      add(nodes[i]!, routeAdd({ dst: `${vtepB}/32`, via: h.far.address, dev: h.near.dev }));
    });
    add(
      u,
      addrAdd("lo", `${vtepA}/32`),
      vxlanAdd({ name: m.devs[0], vni: m.vni, local: vtepA, remote: vtepB, dstport: port }),
      linkUp(m.devs[0]),
      ...(first.firstAsSrc ? m.egress.map((d) => linkGsoMaxSegs(d, 1)) : []),
    );
    add(
      v,
      addrAdd("lo", `${vtepB}/32`),
      vxlanAdd({ name: m.devs[1], vni: m.vni, local: vtepB, remote: vtepA, dstport: port }),
      linkGroMaxSize(m.devs[1], MIRROR_GRO_MAX),
      linkUp(m.devs[1]),
      ...(first.firstAsDst ? this.linkDevs(v).map((d) => linkGroMaxSize(d, MIRROR_GRO_MAX)) : []),
    );
    const tc: Cmd[] = [
      ...(first.firstAsSrc ? m.egress.map(clsactAdd) : []),
      ...m.egress.map((d) => mirredFilter(d, m.prio, ctx.addr(u), ctx.addr(v), m.devs[0])),
    ];
    const t = this.tables;
    const run = ctx.commands;
    // Per node: its ip batch, then what needs the devices (the copy filters at u, the ingress chain at v); the
    // source's counter in parallel. Two requests in sequence on the critical path.
    await Promise.all([
      parallel([...ip.keys()], async (i) => {
        await run.batch("ip", ctx.ns(i), ip.get(i)!);
        if (i === u) await run.batch("tc", ctx.ns(u), tc);
        if (i === v)
          await run.nft(ctx.ns(v), mirrorDestinationNft(t, m.k, m.devs[1], ctx.addr(u), ctx.addr(v)));
      }),
      run.nft(ctx.ns(u), mirrorSourceNft(t.inet, m.k, ctx.addr(u), ctx.addr(v))),
    ]);
  }

  /** Runs `cmds` with every line tried, failures ignored (what is gone stays gone). */
  private forced(tool: "ip" | "tc", i: number, cmds: Cmd[]): Promise<void> {
    return this.ctx.commands.batch(tool, this.ctx.ns(i), cmds, { check: false });
  }

  /**
   * A link device's GSO and GRO settings as the substrate made them (emulate/plan.ts): a wire's VXLAN device sends
   * one segment per packet, a veth the kernel's defaults; no one else changes them while the run lives.
   */
  private planned(dev: string): { gsoMaxSegs: number; groMaxSize: number } {
    const wire = this.ctx.plan.links.some((l) => l.wire && (l.a.dev === dev || l.b.dev === dev));
    return { gsoMaxSegs: wire ? 1 : 65535, groMaxSize: 65536 };
  }

  /** Removes everything of a mirror, ignoring what is already gone (used for rollback too). */
  private async remove(m: MirrorState): Promise<void> {
    const { ctx } = this;
    const u = ctx.node(m.src);
    const v = ctx.node(m.dst);
    // Its bytes as last read count as mirrored (what it copied since, up to one polling period, is not counted);
    // forgotten first, so a reading during teardown cannot take the chains' disappearance for zero counters.
    const c = this.latest.get(m.k);
    if (c) this.removedBytes += c.sent.bytes + VXLAN_OVERHEAD_BYTES * c.sent.packets;
    this.latest.delete(m.k);
    this.base.delete(m.k);
    const others = this.mirrors.filter((x) => x !== m);
    const lastAsSrc = !others.some((x) => x.src === m.src);
    const lastAsDst = !others.some((x) => x.dst === m.dst);
    const uses = (id: string) => others.some((x) => x.src === id || x.dst === id);
    const t = this.tables;
    const routes = new Map(m.path.map((id) => [ctx.node(id), [routeDel(`${m.vteps[1]}/32`)] as Cmd[]]));
    const atSrc = async () => {
      await Promise.all([
        this.forced("tc", u, [
          ...m.egress.map((d) => egressFilterDel(d, m.prio)),
          ...(lastAsSrc ? m.egress.map(clsactDel) : []),
        ]),
        ctx.commands.nft(ctx.ns(u), mirrorNftTeardown(t, m.k, "src", !uses(m.src)), { check: false }),
      ]);
      await this.forced("ip", u, [
        linkDel(m.devs[0]),
        addrDel("lo", `${m.vteps[0]}/32`),
        ...routes.get(u)!,
        ...(lastAsSrc ? m.egress.map((d) => linkGsoMaxSegs(d, this.planned(d).gsoMaxSegs)) : []),
      ]);
    };
    const atDst = async () => {
      await ctx.commands.nft(ctx.ns(v), mirrorNftTeardown(t, m.k, "dst", !uses(m.dst)), { check: false });
      await this.forced("ip", v, [
        linkDel(m.devs[1]),
        addrDel("lo", `${m.vteps[1]}/32`),
        ...routes.get(v)!,
        ...(lastAsDst ? this.linkDevs(v).map((d) => linkGroMaxSize(d, this.planned(d).groMaxSize)) : []),
      ]);
    };
    const transit = [...routes.keys()].filter((i) => i !== u && i !== v);
    await Promise.all([atSrc(), atDst(), parallel(transit, (i) => this.forced("ip", i, routes.get(i)!))]);
    ctx.state.mirrors = this.mirrors.filter((x) => x !== m); // others may have come and gone meanwhile
    ctx.save();
  }

  // --- counters -------------------------------------------------------------------------------------------------

  /** Reads every mirror's counters now (one nft listing per node involved). */
  refresh(): Promise<void> {
    const next = (this.reading ?? Promise.resolve()).then(() => this.read());
    const tracked = next.finally(() => {
      if (this.reading === tracked) this.reading = undefined;
    });
    this.reading = tracked;
    return tracked;
  }

  private async read(): Promise<void> {
    const { ctx } = this;
    const ms = [...this.mirrors];
    const nodes = [...new Set(ms.flatMap((m) => [ctx.node(m.src), ctx.node(m.dst)]))].sort((a, b) => a - b);
    const table = this.tables.inet;
    const per = new Map(
      await Promise.all(
        nodes.map(async (i) => [i, await ctx.commands.ruleCounters(ctx.ns(i), "inet", table)] as const),
      ),
    );
    for (const m of ms) {
      // removed meanwhile, or an end could not be read (then the last reading stands)
      if (!this.latest.has(m.k) || !per.get(ctx.node(m.src)) || !per.get(ctx.node(m.dst))) continue;
      const at = (id: string, c: string) =>
        per.get(ctx.node(id))?.get(`m${m.k}_${c}`) ?? { packets: 0, bytes: 0 };
      this.latest.set(m.k, {
        sent: at(m.src, "sent"),
        mirrorIn: at(m.dst, "mirror_in"),
        primaryIn: at(m.dst, "primary_in"),
        mirrorFirst: at(m.dst, "mirror_first").packets,
        mirrorLate: at(m.dst, "mirror_late").packets,
        primaryFirst: at(m.dst, "primary_first").packets,
        primaryLate: at(m.dst, "primary_late").packets,
      });
    }
  }

  /** Cumulative counters of the pair's mirror (since it was set), as last read. */
  counters(src: string, dst: string): MirrorCounters | undefined {
    const m = this.of(src, dst);
    return m ? this.latest.get(m.k) : undefined;
  }

  /** Bytes the mirrors sent as copies (with VXLAN encapsulation), over the run so far, as last read. */
  mirroredBytes(): number {
    let b = this.removedBytes;
    for (const c of this.latest.values()) b += c.sent.bytes + VXLAN_OVERHEAD_BYTES * c.sent.packets;
    return b;
  }

  /**
   * The Observation's mirrors over the interval since the last consuming call, sorted by pair. `flows` counts the
   * pair's mirrored flows that ended in the interval (`endedFlows`, from the flow ledger); `mirrorWins` is that count
   * times the share of data segments the mirror delivered first (a packet-level measurement: which copy of each
   * flow completed first is not observed), rounded; `paths` holds the per-path counters.
   */
  stats(consume: boolean, endedFlows: (src: string, dst: string) => number): MirrorStats[] {
    return this.list().map((m) => {
      const now = this.latest.get(m.k) ?? ZERO;
      const was = this.base.get(m.k) ?? ZERO;
      if (consume) this.base.set(m.k, now);
      const d = (f: (c: MirrorCounters) => number) => Math.max(0, f(now) - f(was));
      const sent = d((c) => c.sent.packets);
      const mirrorFirst = d((c) => c.mirrorFirst);
      const primaryFirst = d((c) => c.primaryFirst);
      const flows = endedFlows(m.src, m.dst);
      const firsts = mirrorFirst + primaryFirst;
      const loss = (arrived: number) => (sent > 0 ? Math.max(0, 1 - arrived / sent) : null);
      return {
        src: m.src,
        dst: m.dst,
        path: m.path,
        flows,
        mirrorWins: firsts > 0 ? Math.round((flows * mirrorFirst) / firsts) : 0,
        mirroredBytes: d((c) => c.sent.bytes + VXLAN_OVERHEAD_BYTES * c.sent.packets),
        paths: {
          primary: {
            firstSegments: primaryFirst,
            packets: d((c) => c.primaryIn.packets),
            lossRate: loss(d((c) => c.primaryIn.packets)),
          },
          mirror: {
            firstSegments: mirrorFirst,
            packets: d((c) => c.mirrorIn.packets),
            lossRate: loss(d((c) => c.mirrorIn.packets)),
          },
        },
      };
    });
  }

  // --- polling --------------------------------------------------------------------------------------------------

  private updatePolling(): void {
    if (this.mirrors.length > 0 && this.timer === undefined) {
      const tick = () => {
        this.timer = setTimeout(
          () => void (this.reading ?? this.refresh()).catch(() => {}).finally(() => this.timer && tick()),
          this.pollMs,
        );
        this.timer.unref();
      };
      tick();
    } else if (this.mirrors.length === 0) this.stop();
  }

  /** Stops reading counters (at the end of a run). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
