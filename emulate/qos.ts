/**
 * setQos in emulation: htb classes with priorities on every egress of the pair's path. A pair's class `1:<minor>`
 * sits under the link class `1:1` beside the default leaf `1:10` (emulate/commands.ts, {@link htbLink}), with
 *
 * - guaranteed rate: `rateBps` (default 1% of the link rate), the htb `rate`: what the class gets whenever it has
 *   traffic, however busy the link;
 * - ceiling: the spec's ceilBps capped at the link rate, else the link rate (`ceil`): a class may borrow what
 *   others leave unused up to it;
 * - priority: htb `prio` = `priority` clamped to 0..7 (0 first). Spare rate is lent to the lowest prio first (htb's
 *   borrowing order; Devera, "Hierarchical token bucket theory", 2002); the default leaf has prio 7.
 * - its own FIFO, sized like the link's (`bfifo` of the link's queueing delay, or 1000 packets).
 *
 * The guarantees must fit: a guarantee that would leave the default leaf less than 1% of the link is refused with
 * InsufficientCapacityError, naming the link. While a device has classes its default leaf (best effort, prio 7) is
 * guaranteed only that 1% ({@link defaultLeafRateBps}) and borrows the rest like any class, at prio 7, after every
 * class of a lower prio: the simulator's guaranteed-then-borrow order, where flows without a class have no
 * guarantee and borrow at level 7 (sim/transport/flow-network.ts). A default leaf guaranteed the link less the
 * classes' guarantees (as before) is served ahead of every borrowing class, so under load a priority class got
 * only its guarantee: persona classes sized on scaled payload bytes (a 300 B call is 30 B at rateScale 0.1, and
 * its headers and handshake do not scale) then queued their flows one after another behind stream's bulk
 * (personas-emulate-loaded: trading->ledger p99 50 -> 785 ms). With no class left the leaf is guaranteed the
 * whole link again, as {@link htbLink} made it. A u32 filter on the pair's node addresses steers its packets into the class (priority 1, before
 * the default), and a second one (same priority, its own handle) its packets inside a virtual link's VXLAN tunnel, by
 * their inner header (emulate/commands.ts `htbQosClass`): the simulator's class holds a pair's flows on any path, and
 * without it a persona's latency class (whose pairs also get virtual links) held none of their packets once its
 * tunnels were up, which then queued in the default leaf behind the bulk applications' bursts. `setQos(pair, null)`
 * removes the class, its filter and its FIFO and gives the default leaf its rate back; so does a new spec for the
 * pair (replaced whole).
 *
 * A class with a match (`setQos(pair, qos, match)`: an application's exchanges by server port, and protocol) holds
 * only the pair's packets to or from that port: its four u32 filters (plain and tunnelled, port as source and as
 * destination; emulate/commands.ts `htbMatchedClass`) sit in a table of their own tried before every pair filter,
 * so they take the application's packets out of the pair's class (as the simulator's matched class comes before the
 * pair's). A pair has one class per match beside its class without one; `setQos(pair, null, match)` removes that
 * one.
 */
import {
  InsufficientCapacityError,
  type Pair,
  pairKey,
  type QosMatch,
  type QosSpec,
  type QosStats,
} from "../models/policies/types.ts";
import { qosMatchKey } from "../models/policies/verb-args.ts";
import {
  burstBytes,
  type Cmd,
  fifoLimit,
  HTB_DEFAULT_CLASS,
  htbMatchedClass,
  htbMatchedClassDel,
  htbQosClass,
  htbQosClassDel,
  matchedTableAdd,
  matchedTableDel,
  matchedTableLink,
} from "./commands.ts";
import type { ControlContext } from "./control-context.ts";
import { UnsupportedInEmulationError } from "./errors.ts";
import type { QosState } from "./run-state.ts";
import { parallel } from "./runner.ts";
import { TurnBatches } from "./turn-batch.ts";

/** Bytes VXLAN adds to each packet (outer Ethernet, IP, UDP, VXLAN headers). */
const VXLAN_HEADER_BYTES = 50;

/** Share of a link's rate the default leaf always keeps. */
export const DEFAULT_CLASS_SHARE = 0.01;

/**
 * What the default leaf is guaranteed on a device whose classes are guaranteed `guaranteedBps` in all: the whole
 * link without classes (as {@link htbLink} made it), else {@link DEFAULT_CLASS_SHARE} of it (it borrows the rest
 * at prio 7, after the classes), bits/s.
 */
export function defaultLeafRateBps(linkBps: number, guaranteedBps: number): number {
  return guaranteedBps > 0 ? linkBps * DEFAULT_CLASS_SHARE : linkBps;
}

/**
 * The quantum htb gives a class of the link's rate (rate / r2q with the default r2q of 10, in bytes, clamped to
 * 1,000 .. 200,000 as the kernel does): the default leaf keeps it whatever its guarantee, since within a prio htb
 * lends by quantum (Devera's manual), and with the 1% guarantee's quantum best effort (the matrix and every
 * unclassed application) got a fifteenth of what a bulk persona's class at prio 7 borrowed (personas-emulate-loaded:
 * stream +93%, and trading, whose trial had been reverted, +84% p99).
 */
export function linkQuantumBytes(linkBps: number): number {
  return Math.min(200_000, Math.max(1000, Math.floor(linkBps / 8 / 10)));
}

/**
 * `class change` of the default leaf `1:10` to `rateBps` (ceiling: the link rate, quantum: {@link linkQuantumBytes}),
 * as {@link htbLink} made it.
 */
export function defaultClassRate(dev: string, rateBps: number, linkBps: number, mtu: number): Cmd {
  const b = String(burstBytes(linkBps, mtu));
  return [
    "class",
    "change",
    "dev",
    dev,
    "parent",
    "1:1",
    "classid",
    HTB_DEFAULT_CLASS,
    "htb",
    "rate",
    `${Math.round(rateBps)}bit`,
    "ceil",
    `${Math.round(linkBps)}bit`,
    "burst",
    b,
    "cburst",
    b,
    "quantum",
    String(linkQuantumBytes(linkBps)),
    "prio",
    "7",
  ];
}

/** The FIFO under a QoS class, like the link's default leaf's. */
export function qosLeaf(dev: string, minor: number, linkBps: number, mtu: number, queueNs?: number): Cmd {
  const f = fifoLimit(linkBps, mtu, queueNs);
  return [
    "qdisc",
    "replace",
    "dev",
    dev,
    "parent",
    `1:${minor}`,
    "handle",
    `${minor.toString(16)}:`,
    f.kind,
    "limit",
    String(f.limit),
  ];
}

/** One egress device of a path: namespace index, device, link rate and MTU. */
interface Egress {
  node: number;
  dev: string;
  linkBps: number;
  mtu: number;
}

export class EmulationQos {
  /** The tc requests of the current turn of the event loop (see {@link together}). */
  private readonly batches: TurnBatches;

  constructor(private readonly ctx: ControlContext) {
    this.batches = new TurnBatches(() => ctx.commands);
  }

  /**
   * The classes in place as the Observation shows them (models/policies/types.ts QosStats), sorted by pair, then
   * match (the pair's class without one first).
   */
  stats(): QosStats[] {
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return this.ctx.state.qos
      .filter((q) => q.spec !== undefined)
      .map((q) => {
        const [src, dst] = q.pair.split("->") as [string, string];
        return {
          src,
          dst,
          ...(q.match ? { match: { ...q.match } } : {}),
          priority: q.spec!.priority,
          rateBps: q.spec!.rateBps ?? null,
          ceilBps: q.spec!.ceilBps ?? null,
        };
      })
      .sort(
        (a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst) || cmp(qosMatchKey(a.match), qosMatchKey(b.match)),
      );
  }

  /** The pair's QoS class with this match (none: its class without one) now, if any. */
  of(src: string, dst: string, match?: QosMatch): QosState | undefined {
    const key = qosMatchKey(match);
    return this.ctx.state.qos.find(
      (q) => q.pair === pairKey(src, dst) && q.spec !== undefined && qosMatchKey(q.match) === key,
    );
  }

  /**
   * Sets (or with `null` removes) the pair's class on every egress of its current substrate path (its pinned route,
   * else the default path).
   * @throws UnknownNodeError, NoPathError, LinkDownError, InsufficientCapacityError, UnsupportedInEmulationError
   *   (the links are not shaped with htb)
   */
  async set(pair: Pair, qos: QosSpec | null, match?: QosMatch): Promise<void> {
    const { ctx } = this;
    const u = ctx.node(pair.src);
    const v = ctx.node(pair.dst);
    const key = pairKey(pair.src, pair.dst);
    if (ctx.plan.mechanisms.rate !== "htb")
      throw new UnsupportedInEmulationError("setQos", "needs htb on the links (emulation.rate)");
    const path = qos ? ctx.resolvePath(u, v, ctx.state.routes[key]?.path) : undefined;
    const old = this.of(pair.src, pair.dst, match);
    const egress = path ? this.egress(path.nodes, path.hops) : [];
    const rates = egress.map((e) => Math.min(e.linkBps, qos?.rateBps ?? e.linkBps * DEFAULT_CLASS_SHARE));
    this.admit(`setQos ${key}`, egress, rates, old);
    if (old) await this.remove(old);
    if (!qos) return;
    const spec = {
      priority: qos.priority,
      ...(qos.rateBps !== undefined ? { rateBps: qos.rateBps } : {}),
      ...(qos.ceilBps !== undefined ? { ceilBps: qos.ceilBps } : {}),
    };
    const vxlanPort = ctx.plan.settings.vxlanPort;
    await this.install(
      {
        key,
        egress,
        rates,
        src: ctx.addr(u),
        dst: ctx.addr(v),
        spec,
        vxlanPort,
        ...(match ? { match: { ...match } } : {}),
      },
      (e, rate) => ({
        priority: qos.priority,
        ceilBps: Math.max(rate, Math.min(e.linkBps, qos.ceilBps ?? e.linkBps)),
      }),
    );
  }

  /**
   * Reserves `rateBps` on every egress of a virtual link's substrate path (`nodes`, `hops`, as resolved when it was
   * created) for its tunnel: a class with htb rate = ceil = the reservation plus the encapsulation's share
   * (`(innerMtu + 50) / innerMtu`: VXLAN adds 50 bytes per packet), at priority 0, matched by the tunnel endpoints'
   * addresses (the outer header) beside the pairs' classes. Like the simulator's reservation (a pseudo link of
   * exactly the reserved capacity; sim/transport/transport.ts ReservationCapable), the tunnel never gets more than
   * it reserved and the link's other traffic never less than the rest; unlike it, htb lends the reserved rate to
   * other traffic while the tunnel is idle (htb is work-conserving). `key` names the reservation (one per virtual
   * link); {@link release} removes it.
   * @throws InsufficientCapacityError when a link's guarantees would leave its default class under 1%,
   *   UnsupportedInEmulationError when the links are not shaped with htb
   */
  async reserve(
    key: string,
    path: ReturnType<ControlContext["resolvePath"]>,
    tunnel: { src: string; dst: string; innerMtu: number },
    rateBps: number,
  ): Promise<void> {
    if (this.ctx.plan.mechanisms.rate !== "htb")
      throw new UnsupportedInEmulationError(
        "createVirtualLink with rateBps",
        "a reservation needs htb on the links (emulation.rate)",
      );
    const egress = this.egress(path.nodes, path.hops);
    const outer = rateBps * ((tunnel.innerMtu + VXLAN_HEADER_BYTES) / tunnel.innerMtu);
    const rates = egress.map((e) => Math.min(e.linkBps, outer));
    this.admit(`createVirtualLink ${key} with rateBps ${rateBps}`, egress, rates);
    await this.install({ key, egress, rates, src: tunnel.src, dst: tunnel.dst }, (_e, rate) => ({
      priority: 0,
      ceilBps: rate,
    }));
  }

  /** Removes the reservation `key` (nothing when there is none). */
  async release(key: string): Promise<void> {
    const q = this.ctx.state.qos.find((x) => x.pair === key);
    if (q) await this.remove(q);
  }

  /** Throws InsufficientCapacityError when `rates` on `egress` would leave a default class under its share. */
  private admit(what: string, egress: readonly Egress[], rates: readonly number[], except?: QosState): void {
    egress.forEach((e, i) => {
      const others = this.guaranteed(e.node, e.dev, except);
      if (others + rates[i]! > e.linkBps * (1 - DEFAULT_CLASS_SHARE))
        throw new InsufficientCapacityError(
          `${what}: link ${this.ctx.plan.nodes[e.node]!.id} ${e.dev} has ${e.linkBps} bit/s, ${others} bit/s guaranteed to other classes; ${rates[i]} bit/s more leaves its default class under ${DEFAULT_CLASS_SHARE * 100}%`,
        );
    });
  }

  /**
   * Records a class (state first, so a crash leaves it to cleanup) and installs it on every egress: the default
   * leaf's guarantee ({@link defaultLeafRateBps}), the class with its u32 filter on `src` -> `dst`, its FIFO. On a failure
   * everything installed is removed again.
   */
  private async install(
    c: {
      key: string;
      egress: readonly Egress[];
      rates: readonly number[];
      src: string;
      dst: string;
      spec?: QosState["spec"];
      /** The run's VXLAN port: the pair's packets in a virtual link are steered into the class too. */
      vxlanPort?: number;
      /** A matched class's match (it needs `vxlanPort`). */
      match?: QosState["match"];
    },
    classOf: (e: Egress, rate: number) => { priority: number; ceilBps: number },
  ): Promise<void> {
    const { ctx } = this;
    const minor = ctx.state.nextQosMinor++;
    const st: QosState = {
      pair: c.key,
      minor,
      devs: c.egress.map((e) => [ctx.ns(e.node), e.dev]),
      rates: [...c.rates],
      ...(c.spec ? { spec: c.spec } : {}),
      ...(c.match ? { match: c.match } : {}),
    };
    ctx.state.qos.push(st);
    ctx.save();
    const queueNs = ctx.plan.settings.queueNs ?? undefined;
    const tc = new Map<number, Cmd[]>();
    c.egress.forEach((e, i) => {
      const rate = c.rates[i]!;
      const spec = { dev: e.dev, minor, rateBps: rate, src: c.src, dst: c.dst, ...classOf(e, rate) };
      const [cls, ...filters] = (
        c.match
          ? htbMatchedClass({
              ...spec,
              match: c.match,
              ...(c.vxlanPort !== undefined ? { vxlanPort: c.vxlanPort } : {}),
            })
          : htbQosClass({ ...spec, ...(c.vxlanPort !== undefined ? { vxlanPort: c.vxlanPort } : {}) })
      ) as [Cmd, ...Cmd[]];
      // The class and its FIFO before the filter that steers packets into it: replacing a class's leaf drops what
      // it queued, so the FIFO goes in while nothing is steered there yet.
      tc.set(e.node, [
        ...(tc.get(e.node) ?? []),
        defaultClassRate(
          e.dev,
          defaultLeafRateBps(e.linkBps, this.guaranteed(e.node, e.dev)),
          e.linkBps,
          e.mtu,
        ),
        cls,
        qosLeaf(e.dev, minor, e.linkBps, e.mtu, queueNs),
        ...filters,
      ]);
    });
    try {
      // The matched classes' table once per device (its creation fails when it is there: unchecked, first); its
      // link goes in with the class (idempotent). One tc request per namespace for every class set in this turn.
      const devsOf = (i: number) => c.egress.filter((e) => e.node === i).map((e) => e.dev);
      await parallel([...tc.keys()], (i) =>
        this.together(ctx.ns(i), c.match ? devsOf(i).map(matchedTableAdd) : [], [
          ...(c.match ? devsOf(i).map(matchedTableLink) : []),
          ...tc.get(i)!,
        ]),
      );
    } catch (e) {
      await this.remove(st).catch(() => {});
      throw e;
    }
  }

  /** Rate guaranteed to QoS classes on a device (all but `except`), bits/s. */
  private guaranteed(node: number, dev: string, except?: QosState): number {
    const ns = this.ctx.ns(node);
    let sum = 0;
    for (const q of this.ctx.state.qos) {
      if (q === except) continue;
      q.devs.forEach(([n, d], i) => {
        if (n === ns && d === dev) sum += q.rates?.[i] ?? 0;
      });
    }
    return sum;
  }

  private egress(nodes: number[], hops: ReturnType<ControlContext["resolvePath"]>["hops"]): Egress[] {
    return hops.flatMap((h, i) =>
      h.near.rateBps === null
        ? []
        : [{ node: nodes[i]!, dev: h.near.dev, linkBps: h.near.rateBps, mtu: h.mtu }],
    );
  }

  /**
   * Removes a class, its filter and FIFO, and gives the default leaves their rate back. Break before unmake: the
   * filters go first (the pair's new packets take the default leaf), then, once the class's FIFO had time to send
   * what it held ({@link drainMs}), the classes: deleting a class drops what its FIFO still queues.
   */
  private async remove(q: QosState): Promise<void> {
    const { ctx } = this;
    ctx.state.qos = ctx.state.qos.filter((x) => x !== q);
    // A pair's class has a second filter, for its packets in a virtual link; a reservation's has one; a matched
    // class four, and the last one on a device takes the matched classes' table with it.
    const matchedOn = (ns: string, dev: string) =>
      ctx.state.qos.some((x) => x.match && x.devs.some(([n, d]) => n === ns && d === dev));
    const del = q.devs.map(([ns, dev]) => {
      if (!q.match) return htbQosClassDel(dev, q.minor, q.spec !== undefined);
      const [cls, ...filters] = htbMatchedClassDel(dev, q.minor).reverse() as [Cmd, ...Cmd[]];
      return [...filters.reverse(), ...(matchedOn(ns, dev) ? [] : matchedTableDel(dev)), cls];
    });
    await parallel(q.devs, ([ns], i) => this.together(ns, del[i]!.slice(0, -1), []));
    await new Promise((ok) => setTimeout(ok, this.drainMs()));
    await parallel(q.devs, async ([ns, dev], i) => {
      const end = ctx.plan.links
        .flatMap((k) => [
          { end: k.a, mtu: k.mtu },
          { end: k.b, mtu: k.mtu },
        ])
        .find((x) => x.end.dev === dev && ctx.ns(x.end.node) === ns);
      const rate =
        end?.end.rateBps == null
          ? []
          : [defaultLeafRateBps(end.end.rateBps, this.guaranteed(end.end.node, dev))];
      await this.together(
        ns,
        [del[i]!.at(-1)!, ...rate.map((r) => defaultClassRate(dev, r, end!.end.rateBps!, end!.mtu))],
        [],
      );
    });
    ctx.save();
  }

  /**
   * Runs `cmds` in namespace `ns`'s tc channel after `unchecked` (failures ignored), in one request with what the
   * other calls of this turn queued there (emulate/turn-batch.ts): a persona's apply issues its classes (and a
   * revert its removals) together.
   */
  private together(ns: string, unchecked: readonly Cmd[], cmds: readonly Cmd[]): Promise<void> {
    return this.batches.run("tc", ns, cmds, unchecked);
  }

  /** Wall ms a class's FIFO takes to send what it may hold: the links' queueing delay (10 ms when unset), at most 50. */
  private drainMs(): number {
    const queueNs = this.ctx.plan.settings.queueNs ?? 10_000_000;
    return Math.min(50, Math.ceil(queueNs / 1e6));
  }
}
