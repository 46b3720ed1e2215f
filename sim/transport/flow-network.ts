/**
 * Flow-level (fluid) transport: flows share directed links max-min fairly.
 *
 * Model. A flow moves `sizeBytes` from `src` to `dst` along a path of directed links (changeable with
 * {@link FlowNetwork.setPath}). At every instant the rates of the active flows are the max-min fair allocation
 * (Bertsekas & Gallager, "Data Networks", 2nd ed., section 6.5.2): no link carries more than its capacity, and
 * every flow has a bottleneck link that is saturated and on which no flow gets a higher rate. It is computed by
 * progressive filling with a heap of links keyed by fair share (remaining capacity / unfrozen flows): the link with
 * the smallest share saturates first, its flows freeze at that share, and shares elsewhere can only grow. The heap
 * (link-share-heap.ts) is indexed: each link once, its share updated in place, so a component of F flows over H-hop
 * paths costs O((L + F H) log L) for its L links, with no allocation.
 * A down link has capacity 0, so its flows stall at rate 0 until they are moved.
 *
 * Reservations. {@link FlowNetwork.reserve} sets aside `rateBps` on every link of a substrate path and returns a
 * *pseudo link* with exactly that capacity and the path's delay: flows routed over it share the reservation
 * max-min among themselves, and other flows see each substrate link's capacity minus its reservations. A pseudo
 * link is down while any link under it is down. Bits carried over a pseudo link count toward the utilization of
 * the substrate links under it; flow records report the substrate path.
 *
 * Mirroring. A flow may have a mirror copy on a second path ({@link FlowSpec.mirrorPath},
 * {@link FlowNetwork.setMirror}): both copies compete for capacity like separate flows, the flow completes when
 * the first copy delivers its last byte, the other copy is then cancelled, and both copies' bytes count in the
 * record's `wireBytes`. A mirror added mid-flow carries the bytes the primary had left at that moment.
 *
 * QoS classes ({@link FlowNetwork.addQosClass}). A flow may belong to a class with a priority level (0 first ..
 * 7, best effort's level), a guaranteed rate and a ceiling, shared by the class's flows together. Rates follow
 * Linux htb's guaranteed-then-borrow semantics (Devera, "HTB Linux queuing discipline manual", 2002), which the
 * emulator runs, as a sequence of max-min problems: first the flows of classes with a guarantee get their max-min
 * rates under their class's guarantee and the links' capacities; then, level by level from 0 to 7, what capacity is
 * left is shared max-min among that level's flows as increments over what they have (strict priority between
 * levels, as htb lends spare capacity to the lowest prio first), never taking a class above its ceiling. Flows
 * without a class, and mirror copies, borrow at level 7. This is the "minimum rate plus equal share" generalized
 * max-min of Hou, Tzeng and Panwar (INFOCOM 1998) applied per priority level. Differences from htb: within a
 * level htb shares by quantum (proportional to each class's rate), the fluid model equally per flow; and a
 * guarantee holds for the class's flows wherever they go (htb classes sit on the egresses of the path they were
 * set on). A guarantee is admitted on its links like a reservation (capacity minus reservations and other
 * guarantees), so guarantees never oversubscribe a link they were admitted on; unlike a reservation it is work
 * conserving. Without any class none of this runs: reallocation is the plain max-min above.
 *
 * Incremental recomputation. Arrivals, completions, path, capacity, reservation and link-state changes mark links
 * dirty; one reallocation per simulated instant (an event at {@link REALLOCATE_PRIORITY}) recomputes only the
 * connected component of the flow/link sharing graph that contains the dirty links: max-min rates outside that
 * component cannot change. Its cost grows with that component, not with all flows. Flows whose rate did not
 * change keep their completion event. With QoS classes a component also extends over classes (a class's flows
 * share its guarantee and ceiling).
 *
 * TCP start-up (optional, {@link TcpStartup}; the config's `transport.tcp`). A TCP flow does not start at its
 * max-min share: it spends one round trip on the handshake (SYN, SYN-ACK; the first data leaves with the ACK) and
 * then grows its congestion window from the initial window (10 segments, RFC 6928) by doubling every round trip
 * (slow start, RFC 5681; Linux counts acked segments, RFC 3465, so the window doubles per RTT with delayed ACKs).
 * The fluid model carries this as rounds of the path's base RTT (twice its propagation delay; plus queueing delay
 * with fluid queues, below): in each round the flow sends its window (initialWindow x MSS, then doubling) at its max-min share and
 * then waits for the round's end; a round in which the network kept it from sending the whole window ends slow
 * start (congestion avoidance is taken as reaching the max-min share; with fluid queues the window keeps growing
 * into the bottleneck's queue). A waiting flow (handshake, or window sent) is
 * parked: off its links' lists, rate 0, in no max-min component, so the capacity it leaves goes to others and it
 * costs no reallocation work. This is the latency model of Cardwell, Savage and Anderson, "Modeling TCP Latency"
 * (INFOCOM 2000) without losses, as flow-level simulators with slow start do (Parsimon, NSDI 2023; m3, SIGCOMM
 * 2024). A mirror copy shares its flow's window (the emulator duplicates the packets of one connection). Paths with
 * zero delay have no round trips: their flows start at their share. The window grows by `slowStartGrowth` per round
 * (2 as Linux; 1.5 for stacks that add a segment per delayed ACK, as ns-3).
 *
 * Fluid queues (optional, the config's `transport.queue`, with TCP start-up; sim/transport/fluid-queues.ts). Windows
 * beyond a path's bandwidth-delay product wait in its bottleneck's drop-tail FIFO: slow start keeps growing the
 * window of a flow the network limits (instead of ending at its share), so the backlog grows at (g - 1) x the rate
 * until the flow's last byte leaves or the buffer fills (then the window halves, as NewReno's does, and grows a
 * segment per round trip). Every round trip (handshake, slow-start rounds) then lasts the base RTT plus the queueing
 * delays of the path's links at its start, and a flow's last byte waits them (Misra, Gong and Towsley, SIGCOMM
 * 2000). Rates stay max-min fair: queues change when flows finish, not how the links are shared. A flow in a QoS
 * class above best effort sees none of these shared backlogs (htb serves its class from a FIFO of its own; see
 * `sharesQueues`).
 *
 * Degraded links ({@link FlowNetwork.setLinkQuality}, the config's `state: degraded`). Capacity and delay change from
 * the instant on. Loss has no packets to drop here: a flow whose path loses a fraction p = 1 - prod(1 - loss) of its
 * packets gets at most the Mathis rate of its base RTT, {@link mathisRateBps} (TCP in congestion avoidance under
 * random loss), a per-flow cap that max-min filling honours (a capped flow freezes at its cap once every link's share
 * exceeds it, and the capacity it leaves goes to the others). Not modelled: the retransmitted bytes on the links,
 * loss during the handshake and slow start (the start-up rounds are unchanged), and caps under QoS classes (their
 * guaranteed-then-borrow filling ignores them).
 *
 * Time and units. Rates in bits/s, sizes in bytes, time in integer ns. Completion events are rounded up to the
 * next ns. A flow's FCT ends when its last byte arrives: transfer end plus the path's one-way propagation delay
 * (and, with fluid queues, queueing delay); its ideal FCT is the engines' one definition (sim/substrate/ideal-fct.ts:
 * the best size / bottleneck + propagation delay over the idle substrate's paths, whatever path the flow took), so
 * slowdown = FCT / ideal FCT >= 1 and is comparable across policies and engines. With TCP start-up the ideal stays
 * the same, so a slowdown includes what the handshake and slow start cost.
 */

import type { LinkQuality } from "../../models/control/driver.ts";
import type { TunnelCost } from "../../models/sidecar-costs.ts";
import { LINUX_MSS_BYTES, mathisRateBps } from "../../models/tcp-throughput.ts";
import { MAX_PRIORITY, MIN_PRIORITY } from "../kernel/event-queue.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { FlowRecord, TraceBus } from "../metrics/trace.ts";
import { IdealFct } from "../substrate/ideal-fct.ts";
import type { Topology } from "../substrate/topology.ts";
import { FluidQueues, type LinkBuffer } from "./fluid-queues.ts";
import { LinkFlowStore } from "./link-flow-store.ts";
import { LinkShareHeap } from "./link-share-heap.ts";
import {
  BEST_EFFORT_LEVEL,
  type FlowSpec,
  type MirrorCapable,
  type PathProbe,
  type PriorityCapable,
  type ProbeCapable,
  type QosClassSpec,
  type QualityCapable,
  type ReservationCapable,
  type Transport,
  TransportError,
} from "./transport.ts";
import { growF64, growI32, growU8, growU32 } from "./typed-arrays.ts";

export type { FlowSpec };
export { TransportError };

/**
 * Priority of the per-instant reallocation event. It is scheduled by the first change of an instant, so it runs
 * after every event scheduled for that instant from then on (arrivals, completions, policy actions) and one
 * reallocation covers them all. (A MAX_PRIORITY event queued earlier for the same instant still runs before it.)
 */
export const REALLOCATE_PRIORITY = MAX_PRIORITY;
const NO_CAPPED: readonly number[] = [];
/** Priority of completion events: before ordinary events at the same time (a finished flow frees capacity). */
export const COMPLETION_PRIORITY = MIN_PRIORITY;

/** MSS of the Mathis cap when the model runs without TCP start-up (Linux's over a 1500-byte MTU). */
export const DEFAULT_MSS_BYTES = LINUX_MSS_BYTES;
export { mathisRateBps };

const NONE = -1;

/** TCP start-up of every flow (see the module doc). */
export interface TcpStartup {
  /** Whether a flow spends one RTT on the handshake before its first data byte. */
  handshake: boolean;
  /** Initial congestion window, segments (Linux: 10, RFC 6928). */
  initialWindowSegments: number;
  /** Payload bytes per segment (1448 on a 1500-byte MTU with TCP timestamps, as Linux sends). */
  mssBytes: number;
  /**
   * Factor by which slow start grows the window per round trip (default 2: Linux counts acked bytes, RFC 3465, so
   * delayed ACKs do not slow it; 1.5 for stacks that add one segment per ACK with an ACK every two segments, as
   * ns-3's NewReno and Cubic do). A number > 1.
   */
  slowStartGrowth?: number;
}

/** Linux's defaults: handshake, initial window 10, MSS 1448 bytes. */
export const LINUX_TCP_STARTUP: Readonly<TcpStartup> = Object.freeze({
  handshake: true,
  initialWindowSegments: 10,
  mssBytes: 1448,
});

export interface FlowNetworkOptions {
  /** TCP start-up (handshake, slow start); absent or null: flows start at their max-min share. */
  tcp?: TcpStartup | null;
  /**
   * Fluid queues (sim/transport/fluid-queues.ts) with this buffer per link; absent or null: no queues. Needs `tcp`
   * (the backlogs are windows beyond the bandwidth-delay product): ignored without it.
   */
  queue?: LinkBuffer | null;
}

/** Priority of slow-start events: after completions, before ordinary events at the same time. */
const ROUND_PRIORITY = MIN_PRIORITY + 1;
/** A window with less than this left counts as sent (rates and times are rounded to the ns). */
const BUDGET_EPSILON_BYTES = 1e-3;

/** A min-heap of (share, link, version) with lazy deletion, for progressive filling by QoS class (fillByClass); ties broken by link index. */
class ShareHeap {
  key = new Float64Array(64);
  link = new Int32Array(64);
  ver = new Int32Array(64);
  size = 0;

  push(k: number, l: number, v: number): void {
    if (this.size === this.key.length) {
      const n = this.size * 2;
      const k2 = new Float64Array(n);
      k2.set(this.key);
      this.key = k2;
      const l2 = new Int32Array(n);
      l2.set(this.link);
      this.link = l2;
      const v2 = new Int32Array(n);
      v2.set(this.ver);
      this.ver = v2;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const kp = this.key[p]!;
      if (kp < k || (kp === k && this.link[p]! < l)) break;
      this.key[i] = kp;
      this.link[i] = this.link[p]!;
      this.ver[i] = this.ver[p]!;
      i = p;
    }
    this.key[i] = k;
    this.link[i] = l;
    this.ver[i] = v;
  }

  /** Pops the minimum into (topKey, topLink, topVer). */
  topKey = 0;
  topLink = 0;
  topVer = 0;
  pop(): void {
    this.topKey = this.key[0]!;
    this.topLink = this.link[0]!;
    this.topVer = this.ver[0]!;
    const n = --this.size;
    if (n === 0) return;
    const k = this.key[n]!;
    const l = this.link[n]!;
    const v = this.ver[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n) {
        const kc = this.key[c]!;
        const kr = this.key[r]!;
        if (kr < kc || (kr === kc && this.link[r]! < this.link[c]!)) c = r;
      }
      const kc = this.key[c]!;
      if (k < kc || (k === kc && l < this.link[c]!)) break;
      this.key[i] = kc;
      this.link[i] = this.link[c]!;
      this.ver[i] = this.ver[c]!;
      i = c;
    }
    this.key[i] = k;
    this.link[i] = l;
    this.ver[i] = v;
  }
}

export class FlowNetwork
  implements Transport, ReservationCapable, MirrorCapable, PriorityCapable, ProbeCapable, QualityCapable
{
  // --- links: substrate links 0..L0-1, then pseudo links (reservations); arrays grow as pseudo links are added
  private readonly L0: number;
  private nLinks: number;
  private linkCap: number;
  private lSrc: Int32Array;
  private lDst: Int32Array;
  /** Nominal capacity (substrate) or reserved rate (pseudo), bits/s. */
  private capacity: Float64Array;
  /** Sum of live reservations on a substrate link, bits/s. */
  private reserved: Float64Array;
  private up: Uint8Array;
  /** For pseudo links: how many links under it are down. */
  private downUnder: Int32Array;
  private delayNs: Float64Array;
  /** Loss fraction per substrate link (degraded links, {@link FlowNetwork.setLinkQuality}); pseudo links have none. */
  private readonly loss: Float64Array;
  /** Substrate links with loss > 0: while none, no flow has a cap and filling is plain max-min. */
  private lossyLinks = 0;
  /** The flow copies on each link (slot and hop), flat. */
  private readonly onLink: LinkFlowStore;
  private linkRate: Float64Array;
  private linkBits: Float64Array;
  private linkLast: Float64Array;
  private linkMark: Uint32Array;
  private residual: Float64Array;
  private unfrozen: Int32Array;
  private linkVer: Int32Array;
  /** Max-min filling's classes of equivalent links (fillMaxMin): each link's class, its representative's mark. */
  private linkClass: Int32Array;
  private repMark: Uint32Array;
  /** Links of flows whose rate changed in the current reallocation (applyRates), marked with its epoch. */
  private rateMark: Uint32Array;
  private classStamp = new Int32Array(64);
  private classChild = new Int32Array(64);
  private classRep = new Int32Array(64);
  /** Per class, the flow count of a link of it whose flows {@link collectComponent} has scanned (0: none). */
  private classScanned = new Int32Array(64);
  private classCount = 0;
  /** Residual of class 0 (the first link's): most links share it, so the map is for the others. */
  private firstResidual = 0;
  private readonly classOfResidual = new Map<number, number>();
  /** Substrate links under each live pseudo link (null for substrate links and released pseudo links). */
  private readonly under: (Int32Array | null)[] = [];
  /** Live pseudo links over each substrate link. */
  private readonly pseudoOver: number[][];
  private readonly freePseudo: number[] = [];
  private dirty: Int32Array;
  private dirtyCount = 0;
  private reallocPending = false;

  // --- flows (slot-indexed; slots are reused; a mirrored flow has two slots, primary and mirror)
  private slotCap = 0;
  private fId = new Float64Array(0);
  private fSrc = new Int32Array(0);
  private fDst = new Int32Array(0);
  private fTag = new Float64Array(0);
  /** Bytes this copy has to deliver in all (the flow size; for a mirror, what the primary had left). */
  private fSize = new Float64Array(0);
  private fStart = new Float64Array(0);
  private fIdealNs = new Float64Array(0);
  private fRemaining = new Float64Array(0);
  private fRate = new Float64Array(0);
  private fNewRate = new Float64Array(0);
  private fLast = new Float64Array(0);
  private fEvent = new Float64Array(0);
  private fMark = new Uint32Array(0);
  /** The other copy's slot, or NONE. */
  private fTwin = new Int32Array(0);
  private fIsMirror = new Uint8Array(0);
  /** Bytes sent by mirror copies already removed (counted into wireBytes). */
  private fWireExtra = new Float64Array(0);
  /**
   * 1 while TCP waits for a round trip (handshake, or a window sent): the copy is off its links' lists (rate 0,
   * out of every max-min component) and in {@link parked}, so waiting flows neither slow down nor join reallocations.
   */
  private fParked = new Uint8Array(0);
  private readonly parked = new Set<number>();
  /** Base RTT of the copy's path, ns (twice its propagation delay, plus twice its tunnel's delay). */
  private fRttNs = new Float64Array(0);
  /** One-way delay a tunnel adds to the flow (its relays' processing), ns; 0 without a tunnel. */
  private fTunnelNs = new Float64Array(0);
  /** Most the copy may get, bits/s: the Mathis cap of its path's loss (Infinity on a path without loss). */
  private fCap = new Float64Array(0);
  /** Slow start: the round's window and what is left of it, bytes (Infinity after slow start), and events. */
  private fWindow = new Float64Array(0);
  private fBudget = new Float64Array(0);
  private fRound = new Float64Array(0);
  private fBudgetEvent = new Float64Array(0);
  /** The link on which the last reallocation froze the copy (its bottleneck), or NONE. */
  private fBott = new Int32Array(0);
  private fPath: Int32Array[] = [];
  private fPathPos: Int32Array[] = [];
  private freeSlots: number[] = [];
  private slotsUsed = 0;
  private nextFlowId = 0;
  private active = 0;
  private readonly slotOfId = new Map<number, number>();

  // --- scratch
  private epoch = 0;
  private compLinks: Int32Array = new Int32Array(64);
  private compFlows: Int32Array = new Int32Array(64);
  /** Links of flows whose rate changed in a reallocation, other than its dirty links (applyRates). */
  private changedLinks: Int32Array = new Int32Array(64);
  private readonly heap = new ShareHeap();
  private readonly linkHeap = new LinkShareHeap();
  private reallocations = 0;
  private componentFlowsTotal = 0;
  /** Reallocations per component size (flow copies), index = size; grows as larger components appear. */
  private componentSizes = new Float64Array(64);
  private readonly tcp: TcpStartup | null;
  /** Slow start's window factor per round trip ({@link TcpStartup.slowStartGrowth}). */
  private readonly growth: number;
  private readonly ideal: IdealFct;
  /** Fluid queues, with TCP start-up and a buffer (see sim/transport/fluid-queues.ts); null: none. */
  private readonly queues: FluidQueues | null;

  // --- QoS classes (PriorityCapable). Idle until the first class: without one, reallocation runs plain max-min.
  private readonly qos: (QosClass | null)[] = [];
  private qosLive = 0;
  /** Guarantees committed per substrate link, bits/s (allocated with the first class). */
  private guaranteed: Float64Array | null = null;
  /** Class of each copy's flow, or NONE (best effort; mirror copies always are). */
  private fClass = new Int32Array(0);
  /** Per class, during a reallocation: what is left of its guarantee or ceiling, unfrozen flows, heap version. */
  private cResidual = new Float64Array(8);
  private cUnfrozen = new Int32Array(8);
  private cVer = new Int32Array(8);
  private cMark = new Uint32Array(8);
  private compClasses: number[] = [];

  constructor(
    private readonly sim: Simulator,
    readonly topology: Topology,
    private readonly trace?: TraceBus,
    opts: FlowNetworkOptions = {},
  ) {
    this.tcp = opts.tcp ?? null;
    if (this.tcp) checkTcp(this.tcp);
    this.growth = this.tcp?.slowStartGrowth ?? 2;
    this.ideal = new IdealFct(topology);
    const L = topology.linkCount;
    this.L0 = L;
    this.nLinks = L;
    this.linkCap = Math.max(L, 8);
    const cap = this.linkCap;
    this.lSrc = new Int32Array(cap);
    this.lDst = new Int32Array(cap);
    this.capacity = new Float64Array(cap);
    this.delayNs = new Float64Array(cap);
    this.loss = new Float64Array(topology.linkCount);
    for (const l of topology.links) {
      this.lSrc[l.index] = l.src;
      this.lDst[l.index] = l.dst;
      this.capacity[l.index] = l.capacityBps;
      this.delayNs[l.index] = l.delayNs;
      this.under.push(null);
    }
    this.reserved = new Float64Array(cap);
    this.up = new Uint8Array(cap).fill(1);
    this.downUnder = new Int32Array(cap);
    this.onLink = new LinkFlowStore(cap);
    this.linkRate = new Float64Array(cap);
    this.linkBits = new Float64Array(cap);
    this.linkLast = new Float64Array(cap);
    this.linkMark = new Uint32Array(cap);
    this.residual = new Float64Array(cap);
    this.unfrozen = new Int32Array(cap);
    this.linkVer = new Int32Array(cap);
    this.linkClass = new Int32Array(cap);
    this.repMark = new Uint32Array(cap);
    this.rateMark = new Uint32Array(cap);
    this.pseudoOver = Array.from({ length: L }, () => []);
    this.dirty = new Int32Array(Math.max(16, L));
    this.growSlots(1024);
    this.queues =
      opts.queue && this.tcp
        ? new FluidQueues(
            sim,
            opts.queue,
            this.tcp.mssBytes,
            this.growth,
            { capacityOf: (l) => this.capacity[l]!, slotsOn: (l) => this.onLink.slotsOn(l) },
            cap,
            this.slotCap,
          )
        : null;
  }

  /** Drop-tail loss episodes of the fluid queues so far (0 without queues), for benchmarks and diagnostics. */
  get queueOverflows(): number {
    return this.queues?.overflows ?? 0;
  }

  /** Backlog of a link's fluid queue now, bytes (0 without queues). */
  backlogBytes(link: number): number {
    return this.queues?.backlog(link) ?? 0;
  }

  /** Number of flows currently transferring (including stalled ones; a mirrored flow counts once). */
  get activeFlows(): number {
    return this.active;
  }

  /** Number of flows started so far (the next flow id). */
  get startedFlows(): number {
    return this.nextFlowId;
  }

  /** Reallocations and their component sizes (flow copies: mean, 99th percentile, largest), for benchmarks. */
  get stats(): {
    reallocations: number;
    meanComponentFlows: number;
    p99ComponentFlows: number;
    maxComponentFlows: number;
  } {
    const hist = this.componentSizes;
    let max = 0;
    let p99 = 0;
    let seen = 0;
    const rank = Math.ceil(0.99 * this.reallocations);
    for (let size = 0; size < hist.length; size++) {
      const count = hist[size]!;
      if (count === 0) continue;
      max = size;
      if (seen < rank && seen + count >= rank) p99 = size;
      seen += count;
    }
    return {
      reallocations: this.reallocations,
      meanComponentFlows: this.reallocations ? this.componentFlowsTotal / this.reallocations : 0,
      p99ComponentFlows: p99,
      maxComponentFlows: max,
    };
  }

  /**
   * Starts a flow now. Returns its id (0, 1, 2, ... in order of arrival).
   * @throws TransportError for src == dst, a non-positive size, or a path that does not lead from src to dst.
   */
  startFlow(spec: FlowSpec): number {
    const { src, dst, sizeBytes, path } = spec;
    if (!(sizeBytes > 0) || !Number.isFinite(sizeBytes)) {
      throw new TransportError(`startFlow: size must be a positive number of bytes, got ${sizeBytes}`);
    }
    this.checkPath(src, dst, path);
    if (spec.mirrorPath) this.checkPath(src, dst, spec.mirrorPath);
    const qosClass = spec.qosClass ?? NONE;
    if (qosClass !== NONE) this.qosClass(qosClass, "startFlow");
    const id = this.nextFlowId++;
    const setupNs = spec.tunnel ? checkTunnel(spec.tunnel) : 0;
    const handshake =
      (this.tcp?.handshake ?? false) && this.pathDelayNs(path) + (spec.tunnel?.delayNs ?? 0) > 0;
    const slot = this.newCopy(id, src, dst, spec.tag ?? 0, sizeBytes, path, false, handshake || setupNs > 0);
    this.fWireExtra[slot] = 0;
    if (spec.tunnel) this.enterTunnel(slot, spec.tunnel);
    if (qosClass !== NONE) this.joinClass(slot, qosClass);
    this.active++;
    this.slotOfId.set(id, slot);
    if (setupNs > 0) this.fRound[slot] = this.sim.schedule(setupNs, this.onTunnelUp, ROUND_PRIORITY, slot);
    else if (this.tcp) this.startTcp(slot);
    if (spec.mirrorPath) this.addMirror(slot, spec.mirrorPath);
    if (this.trace?.has("flowStart")) {
      this.trace.emit("flowStart", {
        timeNs: this.sim.now,
        flow: id,
        src,
        dst,
        sizeBytes,
        tag: spec.tag ?? 0,
      });
    }
    return id;
  }

  /** Moves an active flow's primary copy onto another path (same endpoints). @throws TransportError */
  setPath(flow: number, path: ArrayLike<number>): void {
    const slot = this.slotOf(flow);
    this.checkPath(this.fSrc[slot]!, this.fDst[slot]!, path);
    this.progress(slot);
    this.queues?.clear(slot);
    this.repath(slot, path);
    this.setRtt(slot, path);
  }

  /**
   * Adds a mirror copy of an active flow on `path` (it carries what the primary has left), moves an existing
   * mirror there, or with `null` removes the mirror (its bytes so far stay counted in `wireBytes`).
   * @throws TransportError for an unknown flow or a bad path.
   */
  setMirror(flow: number, path: ArrayLike<number> | null): void {
    const slot = this.slotOf(flow);
    const twin = this.fTwin[slot]!;
    if (path === null) {
      if (twin !== NONE) this.dropCopy(twin, slot);
      return;
    }
    this.checkPath(this.fSrc[slot]!, this.fDst[slot]!, path);
    if (twin !== NONE) {
      this.progress(twin);
      this.repath(twin, path);
      return;
    }
    this.addMirror(slot, path);
  }

  /** The path (link indices) an active flow's primary copy follows. */
  pathOf(flow: number): readonly number[] {
    return Array.from(this.fPath[this.slotOf(flow)]!);
  }

  /** The mirror copy's path, or null when the flow has no mirror. */
  mirrorPathOf(flow: number): readonly number[] | null {
    const twin = this.fTwin[this.slotOf(flow)]!;
    return twin === NONE ? null : Array.from(this.fPath[twin]!);
  }

  /** Current rate of an active flow's primary copy, bits/s. */
  rateOf(flow: number): number {
    return this.fRate[this.slotOf(flow)]!;
  }

  /** Bytes an active flow's primary copy has still to send, as of now. */
  remainingOf(flow: number): number {
    return this.remainingNow(this.slotOf(flow));
  }

  /** Whether `flow` is still transferring. */
  isActive(flow: number): boolean {
    return this.slotOfId.has(flow);
  }

  /** Ids of the active flows with a copy crossing `link` directly (not through a pseudo link), ascending. */
  flowsOnLink(link: number): number[] {
    const { flows, count } = this.onLink.slotsOn(link);
    const ids = new Set<number>();
    for (let i = 0; i < count; i++) ids.add(this.fId[flows[i]!]!);
    for (const slot of this.parked) if (this.fPath[slot]!.includes(link)) ids.add(this.fId[slot]!);
    return [...ids].sort((a, b) => a - b);
  }

  /** Ids of all active flows, ascending. */
  activeFlowIds(): number[] {
    return [...this.slotOfId.keys()].sort((a, b) => a - b);
  }

  /** Sets a substrate link's nominal capacity (bits/s, >= its reservations); rates follow at the end of the instant. */
  setLinkCapacity(link: number, capacityBps: number): void {
    this.checkSubstrateLink(link, "setLinkCapacity");
    if (!(capacityBps >= 0) || !Number.isFinite(capacityBps)) {
      throw new TransportError(`setLinkCapacity: capacity must be >= 0 bits/s, got ${capacityBps}`);
    }
    this.capacity[link] = capacityBps;
    this.markDirty(link);
  }

  /**
   * A degraded (or restored) substrate link: its capacity (>= its reservations), its one-way delay, and its loss,
   * which caps every flow crossing it at the Mathis rate of its path (module doc). Active flows over the link take
   * the new delay for their remaining round trips and their last byte; rates follow at the end of the instant.
   * @throws TransportError for a negative or non-finite delay, a loss outside [0, 1), or a bad capacity.
   */
  setLinkQuality(link: number, quality: LinkQuality): void {
    this.checkSubstrateLink(link, "setLinkQuality");
    const { delayNs, loss } = quality;
    if (!(delayNs >= 0) || !Number.isFinite(delayNs)) {
      throw new TransportError(`setLinkQuality: delay must be >= 0 ns, got ${delayNs}`);
    }
    if (!(loss >= 0 && loss < 1))
      throw new TransportError(`setLinkQuality: loss must be in [0, 1), got ${loss}`);
    this.setLinkCapacity(link, quality.capacityBps);
    this.delayNs[link] = delayNs;
    if (this.loss[link]! > 0 !== loss > 0) this.lossyLinks += loss > 0 ? 1 : -1;
    this.loss[link] = loss;
    for (const f of this.flowsOnLink(link)) {
      for (const slot of [this.slotOf(f), this.fTwin[this.slotOf(f)]!]) {
        if (slot !== NONE) this.setRtt(slot, this.fPath[slot]!);
      }
    }
  }

  /** A link's one-way propagation delay now, ns (its configured delay unless {@link setLinkQuality} changed it). */
  linkDelayNs(link: number): number {
    return this.delayNs[link]!;
  }

  /** Nominal capacity of a link, bits/s (a down link keeps its capacity but carries nothing). */
  linkCapacity(link: number): number {
    return this.capacity[link]!;
  }

  /** Capacity of a substrate link not yet reserved, bits/s (0 when down). */
  unreservedBps(link: number): number {
    return this.up[link] ? Math.max(0, this.committedFree(link)) : 0;
  }

  /** Capacity of a substrate link left after reservations and QoS guarantees, bits/s (up or not). */
  private committedFree(link: number): number {
    return this.capacity[link]! - this.reserved[link]! - (this.guaranteed?.[link] ?? 0);
  }

  /** Takes a substrate link down (its flows and the pseudo links over it stall) or brings it back up. */
  setLinkUp(link: number, isUp: boolean): void {
    this.checkSubstrateLink(link, "setLinkUp");
    if (this.up[link] === (isUp ? 1 : 0)) return;
    this.up[link] = isUp ? 1 : 0;
    this.markDirty(link);
    for (const p of this.pseudoOver[link]!) {
      this.downUnder[p] = this.downUnder[p]! + (isUp ? -1 : 1);
      this.markDirty(p);
    }
    if (this.trace?.has("linkState")) this.trace.emit("linkState", { timeNs: this.sim.now, link, up: isUp });
  }

  isLinkUp(link: number): boolean {
    return this.up[link] === 1 && this.downUnder[link] === 0;
  }

  /** Aggregate rate on a link right now, bits/s; for a substrate link, including pseudo links over it. */
  linkLoadBps(link: number): number {
    let r = this.linkRate[link]!;
    if (link < this.L0) for (const p of this.pseudoOver[link]!) r += this.linkRate[p]!;
    return r;
  }

  /**
   * Bits carried by each substrate link from time 0 until now (including traffic over pseudo links above it),
   * written into `out` (length = the topology's link count). Differences of two readings give utilization.
   */
  linkBitsUntilNow(out: Float64Array): Float64Array {
    const now = this.sim.now;
    for (let l = 0; l < this.L0; l++) {
      let bits = this.linkBits[l]! + (this.linkRate[l]! * (now - this.linkLast[l]!)) / 1e9;
      for (const p of this.pseudoOver[l]!) {
        bits += this.linkBits[p]! + (this.linkRate[p]! * (now - this.linkLast[p]!)) / 1e9;
      }
      out[l] = bits;
    }
    return out;
  }

  /**
   * Reserves `rateBps` on every link of a substrate `path` and returns a pseudo link index carrying exactly that
   * rate, for flow paths. @throws TransportError when the path is not contiguous substrate links, the rate is not
   * positive, or a link has less than `rateBps` unreserved.
   */
  reserve(path: ArrayLike<number>, rateBps: number): number {
    if (!(rateBps > 0) || !Number.isFinite(rateBps)) {
      throw new TransportError(`reserve: rate must be a positive number of bits/s, got ${rateBps}`);
    }
    if (path.length === 0) throw new TransportError("reserve: empty path");
    let delay = 0;
    let down = 0;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      this.checkSubstrateLink(l, "reserve");
      if (i > 0 && this.lSrc[l] !== this.lDst[path[i - 1]!]) {
        throw new TransportError(
          `reserve: path hop ${i}: link ${this.topology.links[l]!.id} is not contiguous`,
        );
      }
      const free = this.committedFree(l);
      if (free < rateBps * (1 - 1e-12)) {
        throw new TransportError(
          `reserve: link ${this.topology.links[l]!.id} has ${free} bits/s unreserved, less than ${rateBps}`,
        );
      }
      delay += this.delayNs[l]!;
      if (!this.up[l]) down++;
    }
    const p = this.freePseudo.pop() ?? this.newLinkIndex();
    const first = path[0]!;
    const last = path[path.length - 1]!;
    this.lSrc[p] = this.lSrc[first]!;
    this.lDst[p] = this.lDst[last]!;
    this.capacity[p] = rateBps;
    this.delayNs[p] = delay;
    this.up[p] = 1;
    this.downUnder[p] = down;
    this.linkRate[p] = 0;
    this.linkBits[p] = 0;
    this.linkLast[p] = this.sim.now;
    const u = Int32Array.from(path);
    this.under[p] = u;
    for (const l of u) {
      this.reserved[l] = this.reserved[l]! + rateBps;
      this.pseudoOver[l]!.push(p);
      this.markDirty(l);
    }
    return p;
  }

  /**
   * Releases a reservation. Its flows must have been moved off it first.
   * @throws TransportError for a link that is not a live pseudo link, or one that still carries flows.
   */
  release(pseudo: number): void {
    const u = this.under[pseudo];
    if (!u) throw new TransportError(`release: ${pseudo} is not a live reservation`);
    if (this.onLink.count[pseudo]! > 0) {
      throw new TransportError(
        `release: reservation ${pseudo} still carries ${this.onLink.count[pseudo]} flows`,
      );
    }
    // Fold the bits it carried into the links under it, so utilization stays right after it is gone.
    const bits =
      this.linkBits[pseudo]! + (this.linkRate[pseudo]! * (this.sim.now - this.linkLast[pseudo]!)) / 1e9;
    const rate = this.capacity[pseudo]!;
    for (const l of u) {
      this.linkBits[l] = this.linkBits[l]! + bits;
      this.reserved[l] = Math.max(0, this.reserved[l]! - rate);
      const over = this.pseudoOver[l]!;
      over.splice(over.indexOf(pseudo), 1);
      this.markDirty(l);
    }
    this.under[pseudo] = null;
    this.capacity[pseudo] = 0;
    this.linkRate[pseudo] = 0;
    this.linkBits[pseudo] = 0;
    this.freePseudo.push(pseudo);
  }

  /** The substrate links under a pseudo link, or the link itself for a substrate link. */
  substratePath(link: number): readonly number[] {
    const u = this.under[link];
    return u ? Array.from(u) : [link];
  }

  // ---------------------------------------------------------------- QoS classes and probes

  /**
   * Adds a QoS class (see the module doc's QoS paragraph) and commits its guarantee on `spec.links`.
   * @throws TransportError for a level outside 0..7, a negative guarantee, a ceiling below it, or a link with less
   * than the guarantee left after reservations and other guarantees.
   */
  addQosClass(spec: QosClassSpec): number {
    const { level, guaranteedBps: g, ceilBps: ceil } = spec;
    if (!Number.isInteger(level) || level < 0 || level > BEST_EFFORT_LEVEL) {
      throw new TransportError(`addQosClass: level must be an integer 0..${BEST_EFFORT_LEVEL}, got ${level}`);
    }
    if (!(g >= 0) || !Number.isFinite(g)) {
      throw new TransportError(`addQosClass: guaranteed rate must be >= 0 bits/s, got ${g}`);
    }
    if (!(ceil > 0) || ceil < g) {
      throw new TransportError(
        `addQosClass: ceiling must be > 0 and >= the guarantee (${g} bits/s), got ${ceil}`,
      );
    }
    const links = Int32Array.from(spec.links);
    for (const l of links) {
      this.checkSubstrateLink(l, "addQosClass");
      const free = this.committedFree(l);
      if (g > 0 && free < g * (1 - 1e-12)) {
        throw new TransportError(
          `addQosClass: link ${this.topology.links[l]!.id} has ${free} bits/s left after reservations and guarantees, less than ${g}`,
        );
      }
    }
    if (g > 0) {
      this.guaranteed ??= new Float64Array(this.L0);
      for (const l of links) this.guaranteed[l] = this.guaranteed[l]! + g;
    }
    const id = this.qos.length;
    this.qos.push({ level, guaranteedBps: g, ceilBps: ceil, links, slots: new Set() });
    if (id >= this.cResidual.length) {
      const n = this.cResidual.length * 2;
      this.cResidual = growF64(this.cResidual, n);
      this.cUnfrozen = growI32(this.cUnfrozen, n);
      this.cVer = growI32(this.cVer, n);
      this.cMark = growU32(this.cMark, n);
    }
    this.qosLive++;
    return id;
  }

  /** Removes a QoS class and releases its guarantee; its flows become best effort. @throws TransportError */
  removeQosClass(id: number): void {
    const c = this.qosClass(id, "removeQosClass");
    for (const slot of c.slots) {
      this.fClass[slot] = NONE;
      this.markPathDirty(slot);
    }
    if (c.guaranteedBps > 0) {
      for (const l of c.links) this.guaranteed![l] = Math.max(0, this.guaranteed![l]! - c.guaranteedBps);
    }
    this.qos[id] = null;
    this.qosLive--;
  }

  /** Puts an active flow's primary copy in QoS class `qosClass` (-1: best effort). @throws TransportError */
  setFlowQos(flow: number, qosClass: number): void {
    const slot = this.slotOf(flow);
    if (qosClass !== NONE) this.qosClass(qosClass, "setFlowQos");
    const old = this.fClass[slot]!;
    if (old === qosClass) return;
    if (old !== NONE) this.qos[old]!.slots.delete(slot);
    this.fClass[slot] = NONE;
    if (qosClass !== NONE) this.joinClass(slot, qosClass);
    this.markPathDirty(slot);
  }

  /** An active flow's QoS class, or -1. */
  qosClassOf(flow: number): number {
    return this.fClass[this.slotOf(flow)]!;
  }

  /**
   * What a probe sent along `path` now would see: the path's propagation delay, the queueing delay of its links'
   * fluid queues (0 without them: rates never exceed capacity), lost when a link is down; available bandwidth is the smallest capacity
   * left on a link (nominal minus reservations minus what flows carry on it directly; a reservation's own capacity
   * minus its flows' rates). @throws TransportError for an empty or broken path.
   */
  probePath(path: ArrayLike<number>): PathProbe {
    if (path.length === 0) throw new TransportError("probePath: empty path");
    this.checkPath(this.lSrc[path[0]!]!, this.lDst[path[path.length - 1]!]!, path);
    let up = true;
    let available = Number.POSITIVE_INFINITY;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      up &&= this.isLinkUp(l);
      const room = this.capacity[l]! - (l < this.L0 ? this.reserved[l]! : 0) - this.linkRate[l]!;
      available = Math.min(available, Math.max(0, room));
    }
    return {
      up,
      propagationNs: this.pathDelayNs(path),
      queueingNs: this.queues ? this.queues.pathDelayNs(path) : 0,
      availableBps: up ? available : 0,
    };
  }

  // ---------------------------------------------------------------- internals

  private slotOf(flow: number): number {
    const s = this.slotOfId.get(flow);
    if (s === undefined) throw new TransportError(`unknown or finished flow ${flow}`);
    return s;
  }

  private checkSubstrateLink(link: number, what: string): void {
    if (!Number.isInteger(link) || link < 0 || link >= this.L0) {
      throw new TransportError(`${what}: ${link} is not a substrate link index (0..${this.L0 - 1})`);
    }
  }

  private checkPath(src: number, dst: number, path: ArrayLike<number>): void {
    if (src === dst) throw new TransportError(`flow source and destination are the same node (${src})`);
    if (path.length === 0) throw new TransportError(`empty path for flow ${src} -> ${dst}`);
    let at = src;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      const live =
        Number.isInteger(l) && l >= 0 && l < this.nLinks && (l < this.L0 || this.under[l] !== null);
      if (!live) throw new TransportError(`path hop ${i}: unknown link index ${l}`);
      if (this.lSrc[l] !== at)
        throw new TransportError(`path hop ${i}: link ${this.linkName(l)} does not start at node ${at}`);
      at = this.lDst[l]!;
    }
    if (at !== dst) throw new TransportError(`path ends at node ${at}, not at the destination ${dst}`);
  }

  private linkName(l: number): string {
    return l < this.L0 ? this.topology.links[l]!.id : `reservation#${l}`;
  }

  private newLinkIndex(): number {
    if (this.nLinks === this.linkCap) {
      const n = this.linkCap * 2;
      this.lSrc = growI32(this.lSrc, n);
      this.lDst = growI32(this.lDst, n);
      this.capacity = growF64(this.capacity, n);
      this.reserved = growF64(this.reserved, n);
      const up = growU8(this.up, n);
      up.fill(1, this.linkCap);
      this.up = up;
      this.downUnder = growI32(this.downUnder, n);
      this.delayNs = growF64(this.delayNs, n);
      this.onLink.growLinks(n);
      this.linkRate = growF64(this.linkRate, n);
      this.linkBits = growF64(this.linkBits, n);
      this.linkLast = growF64(this.linkLast, n);
      this.linkMark = growU32(this.linkMark, n);
      this.residual = growF64(this.residual, n);
      this.unfrozen = growI32(this.unfrozen, n);
      this.linkVer = growI32(this.linkVer, n);
      this.linkClass = growI32(this.linkClass, n);
      this.repMark = growU32(this.repMark, n);
      this.rateMark = growU32(this.rateMark, n);
      this.linkCap = n;
      this.queues?.growLinks(n);
    }
    this.under.push(null);
    return this.nLinks++;
  }

  private growSlots(cap: number): void {
    this.fId = growF64(this.fId, cap);
    this.fSrc = growI32(this.fSrc, cap);
    this.fDst = growI32(this.fDst, cap);
    this.fTag = growF64(this.fTag, cap);
    this.fSize = growF64(this.fSize, cap);
    this.fStart = growF64(this.fStart, cap);
    this.fIdealNs = growF64(this.fIdealNs, cap);
    this.fRemaining = growF64(this.fRemaining, cap);
    this.fRate = growF64(this.fRate, cap);
    this.fNewRate = growF64(this.fNewRate, cap);
    this.fLast = growF64(this.fLast, cap);
    this.fEvent = growF64(this.fEvent, cap);
    this.fMark = growU32(this.fMark, cap);
    this.fTwin = growI32(this.fTwin, cap, NONE);
    this.fIsMirror = growU8(this.fIsMirror, cap);
    this.fWireExtra = growF64(this.fWireExtra, cap);
    this.fParked = growU8(this.fParked, cap);
    this.fClass = growI32(this.fClass, cap, NONE);
    this.fRttNs = growF64(this.fRttNs, cap);
    this.fTunnelNs = growF64(this.fTunnelNs, cap);
    this.fCap = growF64(this.fCap, cap, Number.POSITIVE_INFINITY);
    this.fRound = growF64(this.fRound, cap);
    this.fWindow = growF64(this.fWindow, cap);
    this.fBudget = growF64(this.fBudget, cap);
    this.fBudgetEvent = growF64(this.fBudgetEvent, cap);
    this.fBott = growI32(this.fBott, cap, NONE);
    this.slotCap = cap;
    this.queues?.growSlots(cap);
  }

  private allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.slotsUsed === this.slotCap) this.growSlots(this.slotCap * 2);
    return this.slotsUsed++;
  }

  /** Creates one copy (primary or mirror) of flow `id` and attaches it to `path`. */
  private newCopy(
    id: number,
    src: number,
    dst: number,
    tag: number,
    sizeBytes: number,
    path: ArrayLike<number>,
    mirror: boolean,
    parked: boolean,
  ): number {
    const slot = this.allocSlot();
    const now = this.sim.now;
    this.fId[slot] = id;
    this.fSrc[slot] = src;
    this.fDst[slot] = dst;
    this.fTag[slot] = tag;
    this.fSize[slot] = sizeBytes;
    this.fStart[slot] = now;
    this.fRemaining[slot] = sizeBytes;
    this.fRate[slot] = 0;
    this.fLast[slot] = now;
    this.fEvent[slot] = NONE;
    this.fTwin[slot] = NONE;
    this.fIsMirror[slot] = mirror ? 1 : 0;
    // A mirror's record is its primary's: only the primary needs the ideal.
    this.fIdealNs[slot] = mirror ? 0 : this.ideal.ns(src, dst, sizeBytes);
    this.fTunnelNs[slot] = 0;
    this.setRtt(slot, path);
    this.fRound[slot] = NONE;
    this.fWindow[slot] = 0;
    this.fBudget[slot] = Number.POSITIVE_INFINITY;
    this.fBudgetEvent[slot] = NONE;
    this.fBott[slot] = NONE;
    this.fParked[slot] = parked ? 1 : 0;
    if (parked) {
      this.fPath[slot] = Int32Array.from(path);
      this.fPathPos[slot] = new Int32Array(path.length);
      this.parked.add(slot);
    } else this.attach(slot, path);
    return slot;
  }

  /** The copy's base RTT and, on a lossy path, its Mathis cap (module doc); marks its links dirty when the cap changes. */
  private setRtt(slot: number, path: ArrayLike<number>): void {
    const rtt = 2 * (this.pathDelayNs(path) + this.fTunnelNs[slot]!);
    this.fRttNs[slot] = rtt;
    if (this.lossyLinks === 0 && this.fCap[slot] === Number.POSITIVE_INFINITY) return;
    let delivered = 1;
    for (let h = 0; h < path.length; h++) delivered *= 1 - (this.loss[path[h]!] ?? 0);
    const cap = mathisRateBps(this.tcp?.mssBytes ?? DEFAULT_MSS_BYTES, rtt, 1 - delivered);
    if (cap === this.fCap[slot]) return;
    this.fCap[slot] = cap;
    for (let h = 0; h < path.length; h++) this.markDirty(path[h]!);
  }

  /** One-way propagation delay of a path (pseudo links carry their substrate path's delay), ns. */
  private pathDelayNs(path: ArrayLike<number>): number {
    let delay = 0;
    for (let i = 0; i < path.length; i++) delay += this.delayNs[path[i]!]!;
    return delay;
  }

  // ---------------------------------------------------------------- tunnels

  /**
   * A flow through a tunnel (FlowSpec.tunnel): its bytes on the wire grow by the tunnel's factor (the record keeps
   * the payload size; `wireBytes` counts the overhead), and every round trip and its last byte wait the tunnel's
   * one-way delay. Its set-up, before TCP's start-up, is {@link onTunnelUp}'s wait.
   */
  private enterTunnel(slot: number, t: TunnelCost): void {
    const size = this.fSize[slot]!;
    this.fRemaining[slot] = size * t.wireFactor;
    this.fWireExtra[slot] = size * (t.wireFactor - 1);
    this.fTunnelNs[slot] = t.delayNs;
    this.setRtt(slot, this.fPath[slot]!); // the RTT and a lossy path's Mathis cap both include the tunnel
  }

  /** The tunnel of a new flow is up: TCP's start-up begins (or, without it, the flow sends at its share). */
  private readonly onTunnelUp = (slot: number): void => {
    this.fRound[slot] = NONE;
    const handshake = (this.tcp?.handshake ?? false) && this.fRttNs[slot]! > 0;
    if (this.tcp && this.fRttNs[slot]! > 0) this.startTcp(slot);
    if (!handshake && this.fParked[slot] === 1) this.setParked(slot, false);
  };

  // ---------------------------------------------------------------- TCP start-up

  /** A new primary copy: the handshake round (or, without one, the first window), then a round every RTT. */
  private startTcp(slot: number): void {
    const rtt = this.fRttNs[slot]!;
    if (!(rtt > 0)) return; // no round trips on a zero-delay path
    // With a handshake the copy starts parked (newCopy), window 0.
    if (!this.tcp!.handshake) this.openWindow(slot, this.tcp!.initialWindowSegments * this.tcp!.mssBytes);
    this.fRound[slot] = this.sim.schedule(this.roundTripNs(slot), this.onRound, ROUND_PRIORITY, slot);
  }

  /**
   * A round trip of a copy starting now: its path's base RTT plus the queueing delay on its path now (none for a
   * copy in a priority class, {@link sharesQueues}), ns.
   */
  private roundTripNs(slot: number): number {
    const rtt = this.fRttNs[slot]!;
    return this.queues && this.sharesQueues(slot)
      ? Math.round(rtt + this.queues.pathDelayNs(this.fPath[slot]!))
      : rtt;
  }

  /**
   * Whether a copy waits in the fluid queues of its path's links: a best-effort one, or one in a class at best
   * effort's level. A class above it is served by htb from a FIFO of its own ahead of the default leaf's backlog (the
   * emulator gives each class its own FIFO, emulate/qos.ts `qosLeaf`), so the shared backlog does not delay it; the
   * class FIFO's own backlog is not modelled (taken as empty: close for a latency class of small flows, low for a
   * priority class of network-limited ones).
   */
  private sharesQueues(slot: number): boolean {
    const c = this.fClass[slot]!;
    return c === NONE || this.qos[c]!.level >= BEST_EFFORT_LEVEL;
  }

  /** Whether a sending copy has a place in the fluid queues: a primary copy of a TCP flow with round trips. */
  private queued(slot: number): boolean {
    return this.fRttNs[slot]! > 0 && !this.fIsMirror[slot] && this.fParked[slot] === 0;
  }

  /** Sets a sending copy's excess in the fluid queues after a rate, bottleneck or window change (progressed). */
  private updateQueue(slot: number, rateBps: number): void {
    const bound = Math.min(this.fRemaining[slot]!, Math.max(0, this.fBudget[slot]!));
    this.queues!.update(slot, this.fBott[slot]!, rateBps, this.fRttNs[slot]!, bound);
  }

  /** Starts a slow-start round: `windowBytes` may leave at the flow's share; then it waits for the round's end. */
  private openWindow(slot: number, windowBytes: number): void {
    this.fWindow[slot] = windowBytes;
    this.fBudget[slot] = windowBytes;
    this.setParked(slot, false);
  }

  /** Parks (rate 0, off its links) or resumes a flow and its mirror copy, which follows the flow's window. */
  private setParked(slot: number, parked: boolean): void {
    const twin = this.fTwin[slot]!;
    for (const c of twin === NONE ? [slot] : [slot, twin]) {
      if ((this.fParked[c] === 1) === parked) continue;
      if (parked) {
        this.progress(c);
        const ev = this.fEvent[c]!;
        if (ev !== NONE) this.sim.cancel(ev);
        this.fEvent[c] = NONE;
        this.detach(c);
        this.fRate[c] = 0;
        this.queues?.clear(c);
        this.parked.add(c);
      } else {
        this.parked.delete(c);
        this.attach(c, this.fPath[c]!);
      }
      this.fParked[c] = parked ? 1 : 0;
    }
  }

  /** Moves a copy onto `path` (on its links' lists unless parked). */
  private repath(slot: number, path: ArrayLike<number>): void {
    if (this.fParked[slot] === 1) {
      this.fPath[slot] = Int32Array.from(path);
      this.fPathPos[slot] = new Int32Array(path.length);
      return;
    }
    this.detach(slot);
    this.attach(slot, path);
  }

  /**
   * A round trip of a flow in start-up ended. After the handshake the initial window opens; a window the flow
   * sent in full doubles; a window the network kept it from sending ends slow start (no window limit after).
   */
  private readonly onRound = (slot: number): void => {
    this.fRound[slot] = NONE;
    this.progress(slot);
    const window = this.fWindow[slot]!;
    const t = this.tcp!;
    if (window === 0) this.openWindow(slot, t.initialWindowSegments * t.mssBytes);
    else if (this.fBudget[slot]! <= BUDGET_EPSILON_BYTES) this.openWindow(slot, this.growth * window);
    else {
      this.fBudget[slot] = Number.POSITIVE_INFINITY;
      this.cancelBudgetEvent(slot);
      this.setParked(slot, false);
      if (this.queues && this.queued(slot)) {
        this.updateQueue(slot, this.fRate[slot]!); // no longer bounded by a window
        this.queues.flushTouched();
      }
      return;
    }
    this.fRound[slot] = this.sim.schedule(this.roundTripNs(slot), this.onRound, ROUND_PRIORITY, slot);
  };

  /** The flow sent its whole window: it waits (rate 0) for the round's end. */
  private readonly onWindowSent = (slot: number): void => {
    this.fBudgetEvent[slot] = NONE;
    this.progress(slot);
    this.fBudget[slot] = 0;
    this.setParked(slot, true);
  };

  private cancelBudgetEvent(slot: number): void {
    const ev = this.fBudgetEvent[slot]!;
    if (ev !== NONE) this.sim.cancel(ev);
    this.fBudgetEvent[slot] = NONE;
  }

  /** After a rate change: the event at which the window runs out, when it runs out before the flow ends. */
  private scheduleWindowSent(slot: number): void {
    this.cancelBudgetEvent(slot);
    const budget = this.fBudget[slot]!;
    const rate = this.fRate[slot]!;
    if (budget === Number.POSITIVE_INFINITY || !(rate > 0) || budget >= this.fRemaining[slot]!) return;
    const dt = Math.ceil((Math.max(0, budget) * 8e9) / rate);
    // A rate left over by floating-point error (QoS classes' borrowing) can put the event beyond any run: none.
    if (!Number.isSafeInteger(dt)) return;
    this.fBudgetEvent[slot] = this.sim.schedule(dt, this.onWindowSent, ROUND_PRIORITY, slot);
  }

  private addMirror(primary: number, path: ArrayLike<number>): void {
    const left = this.remainingNow(primary);
    if (!(left > 0)) return; // finishing this instant: nothing left to mirror
    const m = this.newCopy(
      this.fId[primary]!,
      this.fSrc[primary]!,
      this.fDst[primary]!,
      this.fTag[primary]!,
      left,
      path,
      true,
      this.fParked[primary] === 1,
    );
    this.fTwin[primary] = m;
    this.fTwin[m] = primary;
  }

  /** Removes copy `slot` (whose twin `keep` carries on), counting what it sent into the flow's wire bytes. */
  private dropCopy(slot: number, keep: number): void {
    this.progress(slot);
    const primary = this.fIsMirror[slot] ? keep : slot;
    this.fWireExtra[primary] = this.fWireExtra[primary]! + this.sentBytes(slot);
    this.removeCopy(slot);
    this.fTwin[keep] = NONE;
  }

  private removeCopy(slot: number): void {
    const ev = this.fEvent[slot]!;
    if (ev !== NONE) this.sim.cancel(ev);
    this.fEvent[slot] = NONE;
    const round = this.fRound[slot]!;
    if (round !== NONE) this.sim.cancel(round);
    this.fRound[slot] = NONE;
    this.cancelBudgetEvent(slot);
    this.queues?.clear(slot);
    if (this.fParked[slot] === 1) {
      this.fParked[slot] = 0;
      this.parked.delete(slot);
    } else this.detach(slot);
    this.fRate[slot] = 0;
    this.fTwin[slot] = NONE;
    const c = this.fClass[slot]!;
    if (c !== NONE) {
      this.qos[c]!.slots.delete(slot);
      this.fClass[slot] = NONE;
    }
    this.freeSlots.push(slot);
  }

  private sentBytes(slot: number): number {
    return this.fSize[slot]! - Math.max(0, this.fRemaining[slot]!);
  }

  private remainingNow(slot: number): number {
    return Math.max(
      0,
      this.fRemaining[slot]! - (this.fRate[slot]! * (this.sim.now - this.fLast[slot]!)) / 8e9,
    );
  }

  private attach(slot: number, path: ArrayLike<number>): void {
    const p = Int32Array.from(path);
    const pos = new Int32Array(p.length);
    for (let h = 0; h < p.length; h++) {
      const l = p[h]!;
      pos[h] = this.onLink.add(l, slot, h);
      this.markDirty(l);
    }
    this.fPath[slot] = p;
    this.fPathPos[slot] = pos;
  }

  private detach(slot: number): void {
    const p = this.fPath[slot]!;
    const pos = this.fPathPos[slot]!;
    for (let h = 0; h < p.length; h++) {
      const l = p[h]!;
      const i = pos[h]!;
      if (this.onLink.removeAt(l, i) >= 0) {
        const at = this.onLink.start[l]! + i; // the link's last entry, moved into i
        this.fPathPos[this.onLink.flows[at]!]![this.onLink.hops[at]!] = i;
      }
      this.markDirty(l);
    }
  }

  /** Brings a copy's remaining bytes up to now at its current rate. */
  private progress(slot: number): void {
    const now = this.sim.now;
    const dt = now - this.fLast[slot]!;
    if (dt > 0) {
      const sent = (this.fRate[slot]! * dt) / 8e9;
      this.fRemaining[slot] = this.fRemaining[slot]! - sent;
      this.fBudget[slot] = this.fBudget[slot]! - sent;
      this.fLast[slot] = now;
    }
  }

  private markDirty(link: number): void {
    if (this.dirtyCount === this.dirty.length) this.dirty = growI32(this.dirty, this.dirty.length * 2);
    this.dirty[this.dirtyCount++] = link;
    if (!this.reallocPending) {
      this.reallocPending = true;
      this.sim.schedule(0, this.reallocate, REALLOCATE_PRIORITY);
    }
  }

  private readonly onComplete = (slot: number): void => {
    this.fEvent[slot] = NONE;
    this.progress(slot);
    const now = this.sim.now;
    const id = this.fId[slot]!;
    const twin = this.fTwin[slot]!;
    const mirrorWon = this.fIsMirror[slot] === 1;
    const primary = mirrorWon ? twin : slot;
    let wireBytes = this.fWireExtra[primary]! + this.fSize[slot]!;
    if (twin !== NONE) {
      this.progress(twin);
      wireBytes += this.sentBytes(twin);
    }
    const path = this.fPath[slot]!;
    let delay = this.fTunnelNs[primary]!;
    for (let h = 0; h < path.length; h++) delay += this.delayNs[path[h]!]!;
    // The last byte waits in the queues on its path; a network-limited copy's last bytes were its excess in its
    // bottleneck's queue, so its wait there is in its transfer already (they drained at its rate).
    if (this.queues && this.sharesQueues(primary)) {
      const own = this.fBudget[slot] === Number.POSITIVE_INFINITY ? this.queues.linkOf(slot) : NONE;
      delay += Math.round(this.queues.pathDelayNs(path, own));
    }
    const record: FlowRecord | undefined = this.trace?.has("flowEnd")
      ? {
          flow: id,
          src: this.fSrc[slot]!,
          dst: this.fDst[slot]!,
          sizeBytes: this.fSize[primary]!,
          startNs: this.fStart[primary]!,
          endNs: now + delay,
          fctNs: now + delay - this.fStart[primary]!,
          idealFctNs: this.fIdealNs[primary]!,
          slowdown: (now + delay - this.fStart[primary]!) / this.fIdealNs[primary]!,
          path: this.expand(path),
          tag: this.fTag[slot]!,
          wireBytes,
          mirrored: twin !== NONE,
          mirrorWon,
        }
      : undefined;
    if (twin !== NONE) this.removeCopy(twin);
    this.removeCopy(slot);
    this.active--;
    this.slotOfId.delete(id);
    if (record) this.trace!.emit("flowEnd", record);
  };

  /** A path with pseudo links replaced by the substrate links under them. */
  private expand(path: Int32Array): number[] {
    const out: number[] = [];
    for (const l of path) {
      const u = this.under[l];
      if (u) for (const m of u) out.push(m);
      else out.push(l);
    }
    return out;
  }

  /** Recomputes max-min rates on the component(s) containing the dirty links. */
  private readonly reallocate = (): void => {
    this.reallocPending = false;
    if (this.dirtyCount === 0) return;
    const epoch = ++this.epoch;
    // 1. Collect the component (and, for plain max-min, its classes of equivalent links on the way).
    const plain = this.qosLive === 0;
    let [nLinks, nFlows, nDirty] = this.collectComponent(epoch, plain);
    if (!plain) [nLinks, nFlows] = this.expandByClass(epoch, nLinks, nFlows);
    this.reallocations++;
    this.componentFlowsTotal += nFlows;
    if (nFlows >= this.componentSizes.length) {
      const grown = new Float64Array(Math.max(2 * this.componentSizes.length, nFlows + 1));
      grown.set(this.componentSizes);
      this.componentSizes = grown;
    }
    this.componentSizes[nFlows]!++;

    // 2. Progressive filling over the component (by class when QoS classes exist, see fillByClass).
    if (plain) this.fillMaxMin(nLinks, nFlows, epoch);
    else this.fillByClass(nLinks, nFlows);

    // 3. Apply.
    this.applyRates(nFlows, nDirty, epoch);
  };

  /**
   * Collects the component: the dirty links, then links reachable from them through shared flows, into
   * `compLinks` (dirty ones first) and its flows into `compFlows`. With `classes` (plain max-min), also each
   * link's residual capacity and its class of equivalent links by partition refinement (see
   * {@link fillMaxMin}): a link starts in the class of its residual when it joins the component (no flow of the
   * component seen crosses it yet), and each flow found moves its path's links into a child class of the one they
   * were in. Classes are numbered from 0 in `classCount`.
   * @returns the component's link, flow and dirty-link counts.
   */
  private collectComponent(epoch: number, classes: boolean): [number, number, number] {
    let nLinks = 0;
    let nFlows = 0;
    let compLinks = this.compLinks;
    let compFlows = this.compFlows;
    const { linkMark, fMark, linkClass: cls } = this;
    const now = this.sim.now;
    this.classCount = 0;
    if (this.classOfResidual.size > 0) this.classOfResidual.clear();
    for (let i = 0; i < this.dirtyCount; i++) {
      const l = this.dirty[i]!;
      if (linkMark[l] === epoch) continue;
      linkMark[l] = epoch;
      if (nLinks === compLinks.length) compLinks = this.compLinks = grow32(compLinks);
      compLinks[nLinks++] = l;
      this.accountBits(l, now);
      if (classes) this.initClass(l);
    }
    this.dirtyCount = 0;
    const nDirty = nLinks;
    const { start, count, flows } = this.onLink;
    for (let qi = 0; qi < nLinks; qi++) {
      const l = compLinks[qi]!;
      const n = count[l]!;
      // A link in the class of a link already scanned, with as many flows, has no flow left to find.
      if (classes && this.classScanned[cls[l]!] === n) continue;
      const s = start[l]!;
      const e = s + n;
      for (let j = s; j < e; j++) {
        const f = flows[j]!;
        if (fMark[f] === epoch) continue;
        fMark[f] = epoch;
        if (nFlows === compFlows.length) compFlows = this.compFlows = grow32(compFlows);
        compFlows[nFlows++] = f;
        const p = this.fPath[f]!;
        for (let h = 0; h < p.length; h++) {
          const m = p[h]!;
          if (linkMark[m] !== epoch) {
            linkMark[m] = epoch;
            if (nLinks === compLinks.length) compLinks = this.compLinks = grow32(compLinks);
            compLinks[nLinks++] = m;
            this.accountBits(m, now);
            if (classes) this.initClass(m);
          }
          if (!classes) continue;
          const c = cls[m]!;
          if (this.classStamp[c] !== nFlows) {
            const child = this.newClass(); // may grow the class arrays: before indexing them
            this.classStamp[c] = nFlows;
            this.classChild[c] = child;
          }
          cls[m] = this.classChild[c]!;
        }
      }
      // Flows found later do not cross l: its class is final, and every flow of its links has been found.
      if (classes) this.classScanned[cls[l]!] = n;
    }
    return [nLinks, nFlows, nDirty];
  }

  /** A link joins the component: the bits it carried at its rate until now (only this reallocation changes it). */
  private accountBits(l: number, now: number): void {
    const rate = this.linkRate[l]!;
    if (rate !== 0) this.linkBits[l] = this.linkBits[l]! + (rate * (now - this.linkLast[l]!)) / 1e9; // else + 0
    this.linkLast[l] = now;
  }

  /** A link joins the component: its residual capacity and, when flows cross it, the class of that residual. */
  private initClass(l: number): void {
    if (this.onLink.count[l] === 0) return;
    const usable = this.up[l] === 1 && this.downUnder[l] === 0;
    const r = usable ? Math.max(0, this.capacity[l]! - this.reserved[l]!) : 0;
    this.residual[l] = r;
    let c: number;
    if (this.classCount === 0) {
      this.firstResidual = r;
      c = this.newClass();
    } else if (r === this.firstResidual) c = 0;
    else {
      const byResidual = this.classOfResidual;
      c = byResidual.get(r) ?? this.newClass();
      byResidual.set(r, c);
    }
    this.linkClass[l] = c;
  }

  /**
   * Plain max-min by progressive filling over the component (no QoS class). Only the representative of each class
   * of equivalent links (lowest link index) enters the heap: links crossed by the same flows (as a multiset) with
   * the same residual, found by {@link collectComponent}'s partition refinement. The links of a class lose the same
   * shares in the same order during filling, so their shares stay equal bit for bit and the representative pops
   * first with all their flows; the others would pop after it with the same share and find no unfrozen flow, so
   * rates, bottlenecks and the pop order are those of filling over every link. On long paths with few flows (Kdl:
   * 275 links, 45 classes per reallocation on average) this keeps most links out of the heap.
   */
  private fillMaxMin(nLinks: number, nFlows: number, epoch: number): void {
    const { residual, unfrozen, fMark, linkHeap: heap } = this;
    heap.clear();
    this.markRepresentatives(nLinks, epoch);
    heap.heapify();
    // Flows capped by loss freeze at their cap when it is below every link's share (lowest cap first).
    const capped = this.lossyLinks > 0 ? this.cappedFlows(nFlows, epoch) : NO_CAPPED;
    let ci = 0;
    // The least share first (ties: lower link index): its link's unfrozen flows freeze at it.
    while (heap.size > 0) {
      while (ci < capped.length && fMark[capped[ci]!] !== epoch) ci++;
      if (ci < capped.length && this.fCap[capped[ci]!]! < heap.peekKey()) {
        this.freezeAtCap(capped[ci++]!, epoch);
        continue;
      }
      const l = heap.pop();
      const share = heap.topKey;
      const s = this.onLink.start[l]!;
      const e = s + this.onLink.count[l]!;
      for (let j = s; j < e; j++) {
        const f = this.onLink.flows[j]!;
        if (fMark[f] === epoch) this.freezeAt(f, share, l, epoch); // else frozen earlier in this pass
      }
      residual[l] = 0;
      unfrozen[l] = 0;
    }
  }

  /**
   * Marks (`repMark` = epoch) each class's representative, its lowest link index, and appends it to the heap with
   * its share (residual / flows; call heapify after).
   */
  private markRepresentatives(nLinks: number, epoch: number): void {
    const { compLinks, residual, unfrozen, linkClass: cls, repMark, classRep: rep } = this;
    const count = this.onLink.count;
    for (let i = 0; i < nLinks; i++) {
      const l = compLinks[i]!;
      if (count[l] === 0) continue;
      const c = cls[l]!;
      if (rep[c]! < 0 || l < rep[c]!) rep[c] = l;
    }
    for (let c = 0; c < this.classCount; c++) {
      const l = rep[c]!;
      if (l < 0) continue; // a class all of whose links moved to children
      repMark[l] = epoch;
      const n = count[l]!;
      unfrozen[l] = n;
      this.linkHeap.append(residual[l]! / n, l);
    }
  }

  /** A new class of {@link collectComponent} (no stamp, no representative yet); returns it. */
  private newClass(): number {
    const c = this.classCount++;
    if (c === this.classRep.length) {
      const n = 2 * c;
      this.classStamp = growI32(this.classStamp, n);
      this.classChild = growI32(this.classChild, n);
      this.classRep = growI32(this.classRep, n);
      this.classScanned = growI32(this.classScanned, n);
    }
    this.classStamp[c] = 0;
    this.classScanned[c] = 0;
    this.classRep[c] = NONE;
    return c;
  }

  /** Freezes unfrozen flow `f` at `share` with bottleneck `l`: its other links lose that much and one flow. */
  private freezeAt(f: number, share: number, l: number, epoch: number): void {
    const { residual, unfrozen, repMark } = this;
    this.fMark[f] = 0;
    this.fNewRate[f] = share;
    this.fBott[f] = l;
    const p = this.fPath[f]!;
    for (let h = 0; h < p.length; h++) {
      const m = p[h]!;
      if (m === l || repMark[m] !== epoch) continue; // the other links of m's class follow its representative
      let r = residual[m]! - share;
      if (r < 0) r = 0;
      residual[m] = r;
      const u = --unfrozen[m]!;
      if (u > 0) this.linkHeap.update(m, r / u);
      else this.linkHeap.remove(m);
    }
  }

  /** The component's flows with a finite cap, by cap then slot (a total order: ties cannot depend on the sort). */
  private cappedFlows(nFlows: number, epoch: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < nFlows; i++) {
      const f = this.compFlows[i]!;
      if (this.fMark[f] === epoch && this.fCap[f]! < Number.POSITIVE_INFINITY) out.push(f);
    }
    return out.sort((a, b) => this.fCap[a]! - this.fCap[b]! || a - b);
  }

  /** Freezes an unfrozen flow at its cap during progressive filling: its links lose that much and one flow. */
  private freezeAtCap(f: number, epoch: number): void {
    const rate = this.fCap[f]!;
    this.fMark[f] = 0;
    this.fNewRate[f] = rate;
    const p = this.fPath[f]!;
    this.fBott[f] = p[0]!;
    for (let h = 0; h < p.length; h++) {
      const m = p[h]!;
      if (this.repMark[m] !== epoch) continue;
      const r = Math.max(0, this.residual[m]! - rate);
      this.residual[m] = r;
      const u = --this.unfrozen[m]!;
      if (u > 0) this.linkHeap.update(m, r / u);
      else this.linkHeap.remove(m);
    }
  }

  /**
   * Updates the component's changed flows and recomputes the link sums that can have changed: those of the dirty
   * links (the first `nDirty` of the component, whose flow lists changed) and of the links of flows whose rate
   * changed (the others sum the same rates in the same order). Link bits at the old rates were accounted when the
   * links joined the component ({@link accountBits}).
   */
  private applyRates(nFlows: number, nDirty: number, epoch: number): void {
    const now = this.sim.now;
    const compLinks = this.compLinks;
    const compFlows = this.compFlows;
    const newRate = this.fNewRate;
    const queues = this.queues;
    const rateMark = this.rateMark;
    for (let i = 0; i < nDirty; i++) rateMark[compLinks[i]!] = epoch;
    let nChanged = nDirty; // compLinks[0 .. nDirty-1], then the other links of flows whose rate changes
    let changed = this.changedLinks;
    for (let i = 0; i < nFlows; i++) {
      const f = compFlows[i]!;
      const r = newRate[f]!;
      if (r === this.fRate[f]!) {
        if (queues?.isLimited(f) && queues.linkOf(f) !== this.fBott[f]) {
          this.progress(f);
          this.updateQueue(f, r);
        }
        continue;
      }
      this.progress(f);
      if (queues && this.queued(f)) this.updateQueue(f, r);
      this.fRate[f] = r;
      const p = this.fPath[f]!;
      for (let h = 0; h < p.length; h++) {
        const l = p[h]!;
        if (rateMark[l] === epoch) continue;
        rateMark[l] = epoch;
        if (nChanged - nDirty === changed.length) changed = this.changedLinks = grow32(changed);
        changed[nChanged++ - nDirty] = l;
      }
      const ev = this.fEvent[f]!;
      if (ev !== NONE) this.sim.cancel(ev);
      if (r > 0) {
        const rem = this.fRemaining[f]!;
        const dt = rem > 0 ? Math.ceil((rem * 8e9) / r) : 0;
        // Beyond 2^53 ns (104 days) the flow cannot finish in any run: no event.
        this.fEvent[f] =
          now + dt <= Number.MAX_SAFE_INTEGER
            ? this.sim.schedule(dt, this.onComplete, COMPLETION_PRIORITY, f)
            : NONE;
      } else {
        this.fEvent[f] = NONE;
      }
      if (this.tcp) this.scheduleWindowSent(f);
    }
    queues?.flushTouched();
    const { start, count, flows } = this.onLink;
    const { linkRate, fRate } = this;
    for (let i = 0; i < nChanged; i++) {
      const l = i < nDirty ? compLinks[i]! : changed[i - nDirty]!;
      const s = start[l]!;
      const e = s + count[l]!;
      let sum = 0;
      for (let j = s; j < e; j++) sum += fRate[flows[j]!]!;
      linkRate[l] = sum;
    }
  }

  // ---------------------------------------------------------------- QoS internals

  private qosClass(id: number, what: string): QosClass {
    const c = Number.isInteger(id) ? this.qos[id] : undefined;
    if (!c) throw new TransportError(`${what}: ${id} is not a live QoS class`);
    return c;
  }

  private joinClass(slot: number, id: number): void {
    this.fClass[slot] = id;
    this.qos[id]!.slots.add(slot);
  }

  /** Marks the links of a copy dirty (nothing when it is parked: it joins them when it resumes). */
  private markPathDirty(slot: number): void {
    if (this.fParked[slot] === 1) return;
    const p = this.fPath[slot]!;
    for (let h = 0; h < p.length; h++) this.markDirty(p[h]!);
  }

  private pushCompLink(l: number, n: number): void {
    if (n === this.compLinks.length) this.compLinks = grow32(this.compLinks);
    this.compLinks[n] = l;
  }

  private pushCompFlow(f: number, n: number): void {
    if (n === this.compFlows.length) this.compFlows = grow32(this.compFlows);
    this.compFlows[n] = f;
  }

  /**
   * Grows a component (collected over shared links) by class membership too: a class's flows share its guarantee
   * and ceiling, so they are allocated together. Lists the component's classes in {@link compClasses}.
   * @returns the component's link and flow counts.
   */
  private expandByClass(epoch: number, nLinks: number, nFlows: number): [number, number] {
    const fMark = this.fMark;
    const linkMark = this.linkMark;
    const now = this.sim.now;
    this.compClasses = [];
    let fi = 0;
    let qi = nLinks; // the links before this had their flows collected already
    const addFlow = (f: number) => {
      fMark[f] = epoch;
      this.pushCompFlow(f, nFlows++);
      const p = this.fPath[f]!;
      for (let h = 0; h < p.length; h++) {
        const m = p[h]!;
        if (linkMark[m] === epoch) continue;
        linkMark[m] = epoch;
        this.pushCompLink(m, nLinks++);
        this.accountBits(m, now);
      }
    };
    while (fi < nFlows || qi < nLinks) {
      for (; fi < nFlows; fi++) {
        const c = this.fClass[this.compFlows[fi]!]!;
        if (c === NONE || this.cMark[c] === epoch) continue;
        this.cMark[c] = epoch;
        this.compClasses.push(c);
        for (const s of this.qos[c]!.slots) if (this.fParked[s] === 0 && fMark[s] !== epoch) addFlow(s);
      }
      for (; qi < nLinks; qi++) {
        const { flows, count } = this.onLink.slotsOn(this.compLinks[qi]!);
        for (let j = 0; j < count; j++) if (fMark[flows[j]!] !== epoch) addFlow(flows[j]!);
      }
    }
    return [nLinks, nFlows];
  }

  /**
   * Guaranteed-then-borrow allocation of a component with QoS classes (see the module doc): phase 0 gives the
   * flows of classes with a guarantee their max-min shares under it (and under link capacity); then, level by level
   * from 0 to {@link BEST_EFFORT_LEVEL}, the capacity left is shared max-min among the level's flows as increments
   * over what they have, no class above its ceiling. Writes each flow's rate into `fNewRate`.
   */
  private fillByClass(nLinks: number, nFlows: number): void {
    const compLinks = this.compLinks;
    const compFlows = this.compFlows;
    for (let i = 0; i < nLinks; i++) {
      const l = compLinks[i]!;
      const usable = this.up[l] === 1 && this.downUnder[l] === 0;
      this.residual[l] = usable ? Math.max(0, this.capacity[l]! - this.reserved[l]!) : 0;
    }
    for (let i = 0; i < nFlows; i++) {
      this.fNewRate[compFlows[i]!] = 0;
      this.fBott[compFlows[i]!] = NONE;
    }
    for (const c of this.compClasses) this.cResidual[c] = this.qos[c]!.guaranteedBps;
    this.fillPhase(nLinks, nFlows, (c) => c !== NONE && this.qos[c]!.guaranteedBps > 0);
    for (const c of this.compClasses) {
      const q = this.qos[c]!;
      // Ceiling left = ceiling - what phase 0 gave the class (its guarantee minus what is left of it).
      this.cResidual[c] = q.ceilBps - (q.guaranteedBps - this.cResidual[c]!);
    }
    for (let level = 0; level <= BEST_EFFORT_LEVEL; level++) {
      this.fillPhase(nLinks, nFlows, (c) => (c === NONE ? BEST_EFFORT_LEVEL : this.qos[c]!.level) === level);
    }
  }

  /**
   * One progressive filling over the component's flows whose class `takesPart`: constraints are the links'
   * residuals and the classes' (finite) residuals; each flow's share is added to its `fNewRate` and taken from
   * every constraint it crosses.
   */
  private fillPhase(nLinks: number, nFlows: number, takesPart: (qosClass: number) => boolean): void {
    const ep = ++this.epoch;
    const {
      compLinks,
      compFlows,
      residual,
      unfrozen,
      linkVer: ver,
      fMark,
      heap,
      cResidual,
      cUnfrozen,
    } = this;
    const base = this.linkCap; // heap ids from here on are classes
    for (let i = 0; i < nLinks; i++) unfrozen[compLinks[i]!] = 0;
    for (const c of this.compClasses) cUnfrozen[c] = 0;
    let any = false;
    for (let i = 0; i < nFlows; i++) {
      const f = compFlows[i]!;
      const c = this.fClass[f]!;
      if (!takesPart(c)) continue;
      any = true;
      fMark[f] = ep;
      const p = this.fPath[f]!;
      for (let h = 0; h < p.length; h++) unfrozen[p[h]!]!++;
      if (c !== NONE && Number.isFinite(cResidual[c]!)) cUnfrozen[c]!++;
    }
    if (!any) return;
    heap.size = 0;
    for (let i = 0; i < nLinks; i++) {
      const l = compLinks[i]!;
      ver[l] = 0;
      if (unfrozen[l]! > 0) heap.push(residual[l]! / unfrozen[l]!, l, 0);
    }
    for (const c of this.compClasses) {
      this.cVer[c] = 0;
      if (cUnfrozen[c]! > 0) heap.push(Math.max(0, cResidual[c]!) / cUnfrozen[c]!, base + c, 0);
    }
    const freeze = (f: number, share: number, except: number) => {
      fMark[f] = 0;
      this.fNewRate[f] = this.fNewRate[f]! + share;
      if (except < base) this.fBott[f] = except;
      const p = this.fPath[f]!;
      for (let h = 0; h < p.length; h++) {
        const m = p[h]!;
        if (m === except) continue;
        const r = Math.max(0, residual[m]! - share);
        residual[m] = r;
        const u = --unfrozen[m]!;
        const v = ++ver[m]!;
        if (u > 0) heap.push(r / u, m, v);
      }
      const c = this.fClass[f]!;
      if (c === NONE || base + c === except || !Number.isFinite(cResidual[c]!)) return;
      const r = Math.max(0, cResidual[c]! - share);
      cResidual[c] = r;
      const u = --cUnfrozen[c]!;
      const v = ++this.cVer[c]!;
      if (u > 0) heap.push(r / u, base + c, v);
    };
    while (heap.size > 0) {
      heap.pop();
      const id = heap.topLink;
      const share = heap.topKey;
      if (id >= base) {
        const c = id - base;
        if (heap.topVer !== this.cVer[c] || cUnfrozen[c] === 0) continue;
        for (const f of this.qos[c]!.slots) if (fMark[f] === ep) freeze(f, share, id);
        cResidual[c] = 0;
        cUnfrozen[c] = 0;
        continue;
      }
      if (heap.topVer !== ver[id] || unfrozen[id] === 0) continue;
      const { flows, count } = this.onLink.slotsOn(id);
      for (let j = 0; j < count; j++) if (fMark[flows[j]!] === ep) freeze(flows[j]!, share, id);
      residual[id] = 0;
      unfrozen[id] = 0;
    }
  }
}

/** A QoS class as the flow network keeps it. */
interface QosClass {
  level: number;
  guaranteedBps: number;
  ceilBps: number;
  /** Substrate links its guarantee is committed on. */
  links: Int32Array;
  /** Slots of its flows' primary copies (parked ones included). */
  slots: Set<number>;
}

function checkTcp(t: TcpStartup): void {
  if (!Number.isSafeInteger(t.initialWindowSegments) || t.initialWindowSegments < 1) {
    throw new TransportError(
      `tcp.initialWindowSegments must be an integer >= 1, got ${t.initialWindowSegments}`,
    );
  }
  if (!Number.isSafeInteger(t.mssBytes) || t.mssBytes < 1) {
    throw new TransportError(`tcp.mssBytes must be an integer >= 1, got ${t.mssBytes}`);
  }
  const g = t.slowStartGrowth ?? 2;
  if (!(g > 1) || !Number.isFinite(g)) {
    throw new TransportError(`tcp.slowStartGrowth must be a number > 1, got ${g}`);
  }
}

function grow32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Checks a flow's tunnel cost; returns its set-up time, ns. @throws TransportError for a negative or NaN part. */
function checkTunnel(t: TunnelCost): number {
  if (
    !(t.setupNs >= 0 && t.delayNs >= 0 && t.wireFactor >= 1) ||
    !Number.isFinite(t.setupNs + t.delayNs + t.wireFactor)
  )
    throw new TransportError(
      `startFlow: tunnel costs must be finite, set-up and delay >= 0 ns and wire factor >= 1, got ${JSON.stringify(t)}`,
    );
  return Math.round(t.setupNs);
}
