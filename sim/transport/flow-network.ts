/**
 * Flow-level (fluid) transport: flows share directed links max-min fairly.
 *
 * Model. A flow moves `sizeBytes` from `src` to `dst` along a fixed path of directed links (changeable with
 * {@link FlowNetwork.setPath}). At every instant the rates of the active flows are the max-min fair allocation
 * (Bertsekas & Gallager, "Data Networks", 2nd ed., section 6.5.2): no link carries more than its capacity, and
 * every flow has a bottleneck link that is saturated and on which no flow gets a higher rate. It is computed by
 * progressive filling with a heap of links keyed by fair share (remaining capacity / unfrozen flows): the link with
 * the smallest share saturates first, its flows freeze at that share, and shares elsewhere can only grow.
 * A down link has capacity 0, so its flows stall at rate 0 until they are moved.
 *
 * Incremental recomputation. Arrivals, completions, path, capacity and link-state changes mark links dirty; one
 * reallocation per simulated instant (an event at {@link REALLOCATE_PRIORITY}, after everything else at that
 * time) recomputes only the connected component of the flow/link sharing graph that contains the dirty links:
 * max-min rates outside that component cannot change. Its cost grows with that component, not with all flows.
 * Flows whose rate did not change keep their completion event.
 *
 * Time and units. Rates in bits/s, sizes in bytes, time in integer ns. Completion events are rounded up to the
 * next ns. A flow's FCT ends when its last byte arrives: transfer end plus the path's one-way propagation delay
 * (the fluid model has no queueing delay); its ideal FCT is size / bottleneck capacity + propagation delay, so
 * slowdown = FCT / ideal FCT >= 1.
 */
import { MAX_PRIORITY, MIN_PRIORITY } from "../kernel/event-queue.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { FlowRecord, TraceBus } from "../metrics/trace.ts";
import type { Topology } from "../substrate/topology.ts";

/** Priority of the per-instant reallocation event: after every event scheduled for the same instant from within it (arrivals, completions, policy actions), so one reallocation covers them all. */
export const REALLOCATE_PRIORITY = MAX_PRIORITY;
/** Priority of completion events: before ordinary events at the same time (a finished flow frees capacity). */
export const COMPLETION_PRIORITY = MIN_PRIORITY;

/** Errors from misuse of the flow network (unknown flow, invalid path). */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}

export interface FlowSpec {
  src: number;
  dst: number;
  /** Bytes to transfer, > 0. */
  sizeBytes: number;
  /** Link indices from src to dst. */
  path: ArrayLike<number>;
  /** Carried into the flow record unchanged (e.g. a pair index); default 0. */
  tag?: number;
}

const NONE = -1;

/** Growable per-link list of (flow slot, hop index in that flow's path). */
class LinkFlowList {
  flows = new Int32Array(4);
  hops = new Int32Array(4);
  count = 0;

  add(slot: number, hop: number): number {
    if (this.count === this.flows.length) {
      const f = new Int32Array(this.count * 2);
      f.set(this.flows);
      this.flows = f;
      const h = new Int32Array(this.count * 2);
      h.set(this.hops);
      this.hops = h;
    }
    this.flows[this.count] = slot;
    this.hops[this.count] = hop;
    return this.count++;
  }
}

/** A min-heap of (share, link, version) for progressive filling; ties broken by link index. */
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

export class FlowNetwork {
  // --- links
  private readonly L: number;
  private readonly capacity: Float64Array;
  private readonly up: Uint8Array;
  private readonly onLink: LinkFlowList[];
  private readonly linkRate: Float64Array;
  private readonly linkBits: Float64Array;
  private readonly linkLast: Float64Array;
  private readonly linkMark: Uint32Array;
  private readonly residual: Float64Array;
  private readonly unfrozen: Int32Array;
  private readonly linkVer: Int32Array;
  private readonly delayNs: Float64Array;
  private dirty: Int32Array;
  private dirtyCount = 0;
  private reallocPending = false;

  // --- flows (slot-indexed; slots are reused)
  private slotCap = 0;
  private fId = new Float64Array(0);
  private fSrc = new Int32Array(0);
  private fDst = new Int32Array(0);
  private fTag = new Float64Array(0);
  private fSize = new Float64Array(0);
  private fStart = new Float64Array(0);
  private fIdealNs = new Float64Array(0);
  private fRemaining = new Float64Array(0);
  private fRate = new Float64Array(0);
  private fNewRate = new Float64Array(0);
  private fLast = new Float64Array(0);
  private fEvent = new Float64Array(0);
  private fMark = new Uint32Array(0);
  private fPath: Int32Array[] = [];
  private fPathPos: Int32Array[] = [];
  private freeSlots: number[] = [];
  private slotsUsed = 0;
  private nextFlowId = 0;
  private active = 0;

  // --- scratch
  private epoch = 0;
  private compLinks: Int32Array = new Int32Array(64);
  private compFlows: Int32Array = new Int32Array(64);
  private readonly heap = new ShareHeap();
  private reallocations = 0;
  private componentFlowsTotal = 0;

  constructor(
    private readonly sim: Simulator,
    readonly topology: Topology,
    private readonly trace?: TraceBus,
  ) {
    const L = topology.linkCount;
    this.L = L;
    this.capacity = topology.capacities();
    this.up = new Uint8Array(L).fill(1);
    this.onLink = Array.from({ length: L }, () => new LinkFlowList());
    this.linkRate = new Float64Array(L);
    this.linkBits = new Float64Array(L);
    this.linkLast = new Float64Array(L);
    this.linkMark = new Uint32Array(L);
    this.residual = new Float64Array(L);
    this.unfrozen = new Int32Array(L);
    this.linkVer = new Int32Array(L);
    this.delayNs = Float64Array.from(topology.links, (l) => l.delayNs);
    this.dirty = new Int32Array(Math.max(16, L));
    this.growSlots(1024);
  }

  /** Number of flows currently transferring (including stalled ones). */
  get activeFlows(): number {
    return this.active;
  }

  /** Number of flows started so far (the next flow id). */
  get startedFlows(): number {
    return this.nextFlowId;
  }

  /** Reallocation count and mean component size (flows), for benchmarks and diagnostics. */
  get stats(): { reallocations: number; meanComponentFlows: number } {
    return {
      reallocations: this.reallocations,
      meanComponentFlows: this.reallocations ? this.componentFlowsTotal / this.reallocations : 0,
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
    const slot = this.allocSlot();
    const id = this.nextFlowId++;
    const now = this.sim.now;
    this.fId[slot] = id;
    this.fSrc[slot] = src;
    this.fDst[slot] = dst;
    this.fTag[slot] = spec.tag ?? 0;
    this.fSize[slot] = sizeBytes;
    this.fStart[slot] = now;
    this.fRemaining[slot] = sizeBytes;
    this.fRate[slot] = 0;
    this.fLast[slot] = now;
    this.fEvent[slot] = NONE;
    let bottleneck = Number.POSITIVE_INFINITY;
    let delay = 0;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      bottleneck = Math.min(bottleneck, this.topology.links[l]!.capacityBps);
      delay += this.delayNs[l]!;
    }
    this.fIdealNs[slot] = (sizeBytes * 8 * 1e9) / bottleneck + delay;
    this.attach(slot, path);
    this.active++;
    this.slotOfId.set(id, slot);
    if (this.trace?.has("flowStart")) {
      this.trace.emit("flowStart", { timeNs: now, flow: id, src, dst, sizeBytes });
    }
    return id;
  }

  /** Moves an active flow onto another path (same endpoints). @throws TransportError for an unknown flow or bad path. */
  setPath(flow: number, path: ArrayLike<number>): void {
    const slot = this.slotOf(flow);
    this.checkPath(this.fSrc[slot]!, this.fDst[slot]!, path);
    this.progress(slot);
    this.detach(slot);
    this.attach(slot, path);
  }

  /** The path (link indices) an active flow currently follows. */
  pathOf(flow: number): readonly number[] {
    return Array.from(this.fPath[this.slotOf(flow)]!);
  }

  /** Current rate of an active flow, bits/s. */
  rateOf(flow: number): number {
    return this.fRate[this.slotOf(flow)]!;
  }

  /** Bytes an active flow has still to send, as of now. */
  remainingOf(flow: number): number {
    const slot = this.slotOf(flow);
    return Math.max(
      0,
      this.fRemaining[slot]! - (this.fRate[slot]! * (this.sim.now - this.fLast[slot]!)) / 8e9,
    );
  }

  /** Whether `flow` is still transferring. */
  isActive(flow: number): boolean {
    return this.slotOfId.has(flow);
  }

  /** Ids of the active flows crossing `link`, in ascending order. */
  flowsOnLink(link: number): number[] {
    const list = this.onLink[link]!;
    const ids: number[] = [];
    for (let i = 0; i < list.count; i++) ids.push(this.fId[list.flows[i]!]!);
    return ids.sort((a, b) => a - b);
  }

  /** Ids of all active flows, ascending. */
  activeFlowIds(): number[] {
    return [...this.slotOfId.keys()].sort((a, b) => a - b);
  }

  /** Sets a link's capacity (bits/s, >= 0); rates are recomputed at the end of this instant. */
  setLinkCapacity(link: number, capacityBps: number): void {
    if (!(capacityBps >= 0) || !Number.isFinite(capacityBps)) {
      throw new TransportError(`setLinkCapacity: capacity must be >= 0 bits/s, got ${capacityBps}`);
    }
    this.capacity[link] = capacityBps;
    this.markDirty(link);
  }

  /** Current capacity of a link, bits/s (as set; a down link keeps its capacity but carries nothing). */
  linkCapacity(link: number): number {
    return this.capacity[link]!;
  }

  /** Takes a link down (its flows stall) or brings it back up. */
  setLinkUp(link: number, isUp: boolean): void {
    if (this.up[link] === (isUp ? 1 : 0)) return;
    this.up[link] = isUp ? 1 : 0;
    this.markDirty(link);
    if (this.trace?.has("linkState")) this.trace.emit("linkState", { timeNs: this.sim.now, link, up: isUp });
  }

  isLinkUp(link: number): boolean {
    return this.up[link] === 1;
  }

  /** Aggregate rate on a link right now, bits/s. */
  linkLoadBps(link: number): number {
    return this.linkRate[link]!;
  }

  /**
   * Bits carried by each link from time 0 until now, written into `out` (length = link count).
   * Differences of two readings give per-interval utilization.
   */
  linkBitsUntilNow(out: Float64Array): Float64Array {
    const now = this.sim.now;
    for (let l = 0; l < this.L; l++) {
      out[l] = this.linkBits[l]! + (this.linkRate[l]! * (now - this.linkLast[l]!)) / 1e9;
    }
    return out;
  }

  // ---------------------------------------------------------------- internals

  private readonly slotOfId = new Map<number, number>();

  private slotOf(flow: number): number {
    const s = this.slotOfId.get(flow);
    if (s === undefined) throw new TransportError(`unknown or finished flow ${flow}`);
    return s;
  }

  private checkPath(src: number, dst: number, path: ArrayLike<number>): void {
    const links = this.topology.links;
    if (src === dst) throw new TransportError(`flow source and destination are the same node (${src})`);
    if (path.length === 0) throw new TransportError(`empty path for flow ${src} -> ${dst}`);
    let at = src;
    for (let i = 0; i < path.length; i++) {
      const l = links[path[i]!];
      if (!l) throw new TransportError(`path hop ${i}: unknown link index ${path[i]}`);
      if (l.src !== at) throw new TransportError(`path hop ${i}: link ${l.id} does not start at node ${at}`);
      at = l.dst;
    }
    if (at !== dst) throw new TransportError(`path ends at node ${at}, not at the destination ${dst}`);
  }

  private growSlots(cap: number): void {
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.fId = f64(this.fId);
    this.fSrc = i32(this.fSrc);
    this.fDst = i32(this.fDst);
    this.fTag = f64(this.fTag);
    this.fSize = f64(this.fSize);
    this.fStart = f64(this.fStart);
    this.fIdealNs = f64(this.fIdealNs);
    this.fRemaining = f64(this.fRemaining);
    this.fRate = f64(this.fRate);
    this.fNewRate = f64(this.fNewRate);
    this.fLast = f64(this.fLast);
    this.fEvent = f64(this.fEvent);
    const m = new Uint32Array(cap);
    m.set(this.fMark);
    this.fMark = m;
    this.slotCap = cap;
  }

  private allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.slotsUsed === this.slotCap) this.growSlots(this.slotCap * 2);
    return this.slotsUsed++;
  }

  private attach(slot: number, path: ArrayLike<number>): void {
    const p = Int32Array.from(path);
    const pos = new Int32Array(p.length);
    for (let h = 0; h < p.length; h++) {
      const l = p[h]!;
      pos[h] = this.onLink[l]!.add(slot, h);
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
      const list = this.onLink[l]!;
      const i = pos[h]!;
      const last = --list.count;
      if (i !== last) {
        const movedSlot = list.flows[last]!;
        const movedHop = list.hops[last]!;
        list.flows[i] = movedSlot;
        list.hops[i] = movedHop;
        this.fPathPos[movedSlot]![movedHop] = i;
      }
      this.markDirty(l);
    }
  }

  /** Brings a flow's remaining bytes up to now at its current rate. */
  private progress(slot: number): void {
    const now = this.sim.now;
    const dt = now - this.fLast[slot]!;
    if (dt > 0) {
      this.fRemaining[slot] = this.fRemaining[slot]! - (this.fRate[slot]! * dt) / 8e9;
      this.fLast[slot] = now;
    }
  }

  private markDirty(link: number): void {
    if (this.dirtyCount === this.dirty.length) {
      const d = new Int32Array(this.dirty.length * 2);
      d.set(this.dirty);
      this.dirty = d;
    }
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
    const path = this.fPath[slot]!;
    let delay = 0;
    for (let h = 0; h < path.length; h++) delay += this.delayNs[path[h]!]!;
    this.detach(slot);
    this.fRate[slot] = 0;
    this.active--;
    this.slotOfId.delete(id);
    if (this.trace?.has("flowEnd")) {
      const start = this.fStart[slot]!;
      const end = now + delay;
      const ideal = this.fIdealNs[slot]!;
      const record: FlowRecord = {
        flow: id,
        src: this.fSrc[slot]!,
        dst: this.fDst[slot]!,
        sizeBytes: this.fSize[slot]!,
        startNs: start,
        endNs: end,
        fctNs: end - start,
        idealFctNs: ideal,
        slowdown: (end - start) / ideal,
        path: Array.from(path),
        tag: this.fTag[slot]!,
      };
      this.trace.emit("flowEnd", record);
    }
    this.freeSlots.push(slot);
  };

  /** Recomputes max-min rates on the component(s) containing the dirty links. */
  private readonly reallocate = (): void => {
    this.reallocPending = false;
    if (this.dirtyCount === 0) return;
    const now = this.sim.now;
    const epoch = ++this.epoch;
    // 1. Collect the component: links reachable from dirty links through shared flows.
    let nLinks = 0;
    let nFlows = 0;
    let compLinks = this.compLinks;
    let compFlows = this.compFlows;
    const linkMark = this.linkMark;
    const fMark = this.fMark;
    for (let i = 0; i < this.dirtyCount; i++) {
      const l = this.dirty[i]!;
      if (linkMark[l] === epoch) continue;
      linkMark[l] = epoch;
      if (nLinks === compLinks.length) compLinks = this.compLinks = grow32(compLinks);
      compLinks[nLinks++] = l;
    }
    this.dirtyCount = 0;
    for (let qi = 0; qi < nLinks; qi++) {
      const list = this.onLink[compLinks[qi]!]!;
      for (let j = 0; j < list.count; j++) {
        const f = list.flows[j]!;
        if (fMark[f] === epoch) continue;
        fMark[f] = epoch;
        if (nFlows === compFlows.length) compFlows = this.compFlows = grow32(compFlows);
        compFlows[nFlows++] = f;
        const p = this.fPath[f]!;
        for (let h = 0; h < p.length; h++) {
          const m = p[h]!;
          if (linkMark[m] === epoch) continue;
          linkMark[m] = epoch;
          if (nLinks === compLinks.length) compLinks = this.compLinks = grow32(compLinks);
          compLinks[nLinks++] = m;
        }
      }
    }
    this.reallocations++;
    this.componentFlowsTotal += nFlows;

    // 2. Progressive filling over the component.
    const residual = this.residual;
    const unfrozen = this.unfrozen;
    const ver = this.linkVer;
    const heap = this.heap;
    const newRate = this.fNewRate;
    heap.size = 0;
    for (let i = 0; i < nLinks; i++) {
      const l = compLinks[i]!;
      const n = this.onLink[l]!.count;
      residual[l] = this.up[l] ? this.capacity[l]! : 0;
      unfrozen[l] = n;
      ver[l] = 0;
      if (n > 0) heap.push(residual[l]! / n, l, 0);
    }
    while (heap.size > 0) {
      heap.pop();
      const l = heap.topLink;
      if (heap.topVer !== ver[l] || unfrozen[l]! === 0) continue;
      const share = heap.topKey;
      const list = this.onLink[l]!;
      for (let j = 0; j < list.count; j++) {
        const f = list.flows[j]!;
        if (fMark[f] !== epoch) continue; // frozen earlier in this pass
        fMark[f] = 0;
        newRate[f] = share;
        const p = this.fPath[f]!;
        for (let h = 0; h < p.length; h++) {
          const m = p[h]!;
          if (m === l) continue;
          let r = residual[m]! - share;
          if (r < 0) r = 0;
          residual[m] = r;
          const u = --unfrozen[m]!;
          const v = ++ver[m]!;
          if (u > 0) heap.push(r / u, m, v);
        }
      }
      residual[l] = 0;
      unfrozen[l] = 0;
    }

    // 3. Apply: account link bits at the old rates, update changed flows, recompute link sums.
    for (let i = 0; i < nLinks; i++) {
      const l = compLinks[i]!;
      this.linkBits[l] = this.linkBits[l]! + (this.linkRate[l]! * (now - this.linkLast[l]!)) / 1e9;
      this.linkLast[l] = now;
    }
    for (let i = 0; i < nFlows; i++) {
      const f = compFlows[i]!;
      const r = newRate[f]!;
      if (r === this.fRate[f]!) continue;
      this.progress(f);
      this.fRate[f] = r;
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
    }
    for (let i = 0; i < nLinks; i++) {
      const l = compLinks[i]!;
      const list = this.onLink[l]!;
      let sum = 0;
      for (let j = 0; j < list.count; j++) sum += this.fRate[list.flows[j]!]!;
      this.linkRate[l] = sum;
    }
  };
}

function grow32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
