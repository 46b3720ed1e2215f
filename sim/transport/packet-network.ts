/**
 * Packet-level transport (`transport.model: packet`): every flow is a TCP connection whose packets cross per-link
 * drop-tail FIFOs, serialization and propagation delays.
 *
 * Model. Links: sim/transport/packet/links.ts (a byte or packet FIFO per directed link sized as the emulator sizes
 * its htb/tbf FIFOs, `bufferBytes` of sim/transport/fluid-queues.ts: by default 10 ms at the link rate, at least four
 * full frames; serialization at the link rate; propagation; drop-tail). TCP: sim/transport/packet/tcp.ts
 * (handshake, slow start from 10 segments, congestion avoidance, fast retransmit and NewReno fast recovery, RTO with
 * Linux's 200 ms floor, delayed ACKs), with Linux's defaults (sim/transport/packet/tcp-options.ts,
 * {@link LINUX_PACKET_TCP}). Data follows the flow's path; ACKs follow the reverse links of that path (each link's
 * `reverse`, else a parallel link back) and share their FIFOs with data going that way. Packets are integer
 * handles into typed arrays (sim/transport/packet/packets.ts) and every event carries one as its data, so no
 * packet allocates an object or a closure.
 *
 * What it reports. A flow completes when its receiver holds every byte in order: its record's end time is that
 * arrival (no FIN); `wireBytes` is its size (retransmissions and headers are in the link counters and the TCP
 * counters, not in the record, whose `wireBytes` counts mirror copies); links carry wire bits (payload, headers,
 * link-layer header). Capabilities: {@link DropCounting} (packets dropped per link egress) and {@link ProbeCapable}
 * (the queueing a packet would meet now; available capacity from the rate of the last 10 ms or more). Not offered:
 * reservations, mirrors and QoS classes (verbs needing them are refused before a run); `setPath` moves the packets a
 * flow sends from now on (packets in flight keep their path, so a move can reorder); a flow given up after
 * `maxRetries` timeouts stays active and unfinished.
 *
 * Units: rates in bits/s, sizes in bytes, time in integer ns.
 */
import type { LinkQuality } from "../../models/control/driver.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { FlowRecord, TraceBus } from "../metrics/trace.ts";
import { IdealFct } from "../substrate/ideal-fct.ts";
import type { Topology } from "../substrate/topology.ts";
import { EMULATOR_BUFFER, type LinkBuffer } from "./fluid-queues.ts";
import { PacketLinks, PathTable } from "./packet/links.ts";
import { PacketPool } from "./packet/packets.ts";
import { type TcpCounters, TcpFlows } from "./packet/tcp.ts";
import { checkPacketTcp, LINUX_PACKET_TCP, type PacketTcpOptions } from "./packet/tcp-options.ts";
import {
  type DropCounting,
  type FlowSpec,
  type PathProbe,
  type ProbeCapable,
  type QualityCapable,
  type Transport,
  TransportError,
} from "./transport.ts";
import { growF64, growI32 } from "./typed-arrays.ts";

export {
  LINUX_PACKET_TCP,
  NS3_PACKET_CUBIC,
  NS3_PACKET_CUBIC_DEFAULTS,
  NS3_PACKET_CUBIC_SACK,
  NS3_PACKET_TCP,
  NS3_PACKET_TCP_SACK,
  type PacketTcpOptions,
} from "./packet/tcp-options.ts";

export interface PacketNetworkOptions {
  /** TCP parameters, over {@link LINUX_PACKET_TCP}. */
  tcp?: Partial<PacketTcpOptions>;
  /** Every link's FIFO (default the emulator's: 10 ms at the link rate). */
  buffer?: LinkBuffer | null;
  /**
   * Extra losses, for tests and loss models: called as a packet is about to enter a link's FIFO with the flow id, the
   * packet's kind, its sequence field (a data segment's index from 0; an ACK's next expected segment) and the link;
   * true drops it there (counted as that link's drop).
   */
  loss?: (flow: number, kind: PacketKind, seq: number, link: number) => boolean;
  /**
   * Uniform [0, 1) draws for degraded links' loss (a named seeded stream: the engine passes
   * `transport/link-loss`); without it a loss > 0 is refused. Drawn only for packets entering a lossy link.
   */
  lossRandom?: () => number;
}

/** Kinds of packets, as {@link PacketNetworkOptions.loss} sees them. */
export type PacketKind = "syn" | "syn-ack" | "data" | "ack";
const KINDS: readonly PacketKind[] = ["syn", "syn-ack", "data", "ack"];

/** Window over which {@link PacketNetwork.linkLoadBps} measures a link's rate, ns. */
const LOAD_WINDOW_NS = 10e6;

export class PacketNetwork implements Transport, DropCounting, ProbeCapable, QualityCapable {
  private readonly pool = new PacketPool();
  private readonly paths = new PathTable();
  private readonly links: PacketLinks;
  private readonly tcp: TcpFlows;
  private readonly ideal: IdealFct;
  readonly tcpOptions: Readonly<PacketTcpOptions>;
  // flows by slot
  private fId = new Float64Array(0);
  private fSrc = new Int32Array(0);
  private fDst = new Int32Array(0);
  private fTag = new Float64Array(0);
  private fSize = new Float64Array(0);
  private fStart = new Float64Array(0);
  private fIdeal = new Float64Array(0);
  private slotCap = 0;
  private slotsUsed = 0;
  private readonly freeSlots: number[] = [];
  private readonly slotOfId = new Map<number, number>();
  private nextFlowId = 0;
  // linkLoadBps: bits and time at the start of the current window, and the last window's rate
  private readonly loadBits: Float64Array;
  private readonly loadAt: Float64Array;
  private readonly loadRate: Float64Array;

  constructor(
    private readonly sim: Simulator,
    readonly topology: Topology,
    private readonly trace?: TraceBus,
    opts: PacketNetworkOptions = {},
  ) {
    this.tcpOptions = Object.freeze({ ...LINUX_PACKET_TCP, ...opts.tcp });
    checkPacketTcp(this.tcpOptions);
    this.links = new PacketLinks(sim, topology, opts.buffer ?? EMULATOR_BUFFER, this.pool, this.paths);
    this.tcp = new TcpFlows(sim, this.pool, this.links, this.tcpOptions, {
      completed: (slot) => this.completed(slot),
      released: (slot) => this.freeSlots.push(slot),
    });
    this.links.sink = this.tcp;
    this.links.lossDraw = opts.lossRandom ?? null;
    const loss = opts.loss;
    if (loss) {
      const pool = this.pool;
      this.links.lossFilter = (l, p) =>
        loss(this.fId[pool.flow[p]!]!, KINDS[pool.kind[p]!]!, pool.seq[p]!, l);
    }
    this.ideal = new IdealFct(topology);
    const L = topology.linkCount;
    this.loadBits = new Float64Array(L);
    this.loadAt = new Float64Array(L);
    this.loadRate = new Float64Array(L);
    this.growSlots(256);
  }

  get activeFlows(): number {
    return this.slotOfId.size;
  }

  get startedFlows(): number {
    return this.nextFlowId;
  }

  /** TCP counters over all flows (segments, retransmissions, payload sent / delivered / dropped). */
  get counters(): Readonly<TcpCounters> {
    return this.tcp.counters;
  }

  /** Packet transmissions started on all links so far (packet-hops; ns-3's PhyTxEnd count). */
  get transmissions(): number {
    return this.links.transmissions;
  }

  /** Packets in the network now (queued, on a wire). */
  get packetsInFlight(): number {
    return this.pool.live;
  }

  /**
   * Starts a TCP flow now; returns its id (0, 1, 2, ... in order of arrival).
   * @throws TransportError for src == dst, a bad size or path, a mirror path or a QoS class (no such capability).
   */
  startFlow(spec: FlowSpec): number {
    const { src, dst, sizeBytes, path } = spec;
    if (!(sizeBytes > 0) || !Number.isFinite(sizeBytes)) {
      throw new TransportError(`startFlow: size must be a positive number of bytes, got ${sizeBytes}`);
    }
    if (sizeBytes / this.tcpOptions.mssBytes >= 2 ** 31 - 1) {
      throw new TransportError(`startFlow: ${sizeBytes} bytes is more than 2^31 segments`);
    }
    if (spec.mirrorPath) throw new TransportError("startFlow: the packet model has no mirrors");
    if (spec.qosClass !== undefined && spec.qosClass !== -1) {
      throw new TransportError("startFlow: the packet model has no QoS classes");
    }
    const [fwd, rev] = this.internPaths(src, dst, path);
    const id = this.nextFlowId++;
    const slot = this.allocSlot();
    this.fId[slot] = id;
    this.fSrc[slot] = src;
    this.fDst[slot] = dst;
    this.fTag[slot] = spec.tag ?? 0;
    this.fSize[slot] = sizeBytes;
    this.fStart[slot] = this.sim.now;
    this.fIdeal[slot] = this.ideal.ns(src, dst, sizeBytes);
    this.slotOfId.set(id, slot);
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
    this.tcp.open(slot, sizeBytes, fwd, rev);
    return id;
  }

  setPath(flow: number, path: ArrayLike<number>): void {
    const slot = this.slotOf(flow);
    const [fwd, rev] = this.internPaths(this.fSrc[slot]!, this.fDst[slot]!, path);
    this.tcp.setPaths(slot, fwd, rev);
  }

  pathOf(flow: number): readonly number[] {
    return Array.from(this.paths.paths[this.tcp.fwdPath(this.slotOf(flow))]!);
  }

  flowsOnLink(link: number): number[] {
    const ids: number[] = [];
    for (const [id, slot] of this.slotOfId) {
      if (this.paths.paths[this.tcp.fwdPath(slot)]!.includes(link)) ids.push(id);
    }
    return ids.sort((a, b) => a - b);
  }

  /** Bytes a flow's receiver holds in order now (its size once complete). @throws TransportError when finished. */
  receivedBytes(flow: number): number {
    return Math.min(
      this.fSize[this.slotOf(flow)]!,
      this.tcp.receivedSegments(this.slotOf(flow)) * this.tcpOptions.mssBytes,
    );
  }

  /** Whether `flow` is still transferring. */
  isActive(flow: number): boolean {
    return this.slotOfId.has(flow);
  }

  setLinkUp(link: number, up: boolean): void {
    this.checkLink(link, "setLinkUp");
    if (this.isLinkUp(link) === up) return;
    this.links.setUp(link, up);
    if (this.trace?.has("linkState")) this.trace.emit("linkState", { timeNs: this.sim.now, link, up });
  }

  isLinkUp(link: number): boolean {
    return this.links.up[link] === 1;
  }

  /**
   * A degraded (or restored) link: packets accepted from now on are sent at the new capacity and arrive after the
   * new delay (packets already accepted keep their departure: a rate change takes effect behind the FIFO's backlog,
   * and the FIFO keeps the byte limit it was built with); each packet entering the link is lost with probability
   * `loss` (a draw of the `lossRandom` stream). @throws TransportError for bad values or loss without a stream.
   */
  setLinkQuality(link: number, quality: LinkQuality): void {
    this.checkLink(link, "setLinkQuality");
    const { capacityBps, delayNs, loss } = quality;
    if (!(capacityBps > 0) || !Number.isFinite(capacityBps)) {
      throw new TransportError(`setLinkQuality: capacity must be > 0 bits/s, got ${capacityBps}`);
    }
    if (!(delayNs >= 0) || !Number.isFinite(delayNs)) {
      throw new TransportError(`setLinkQuality: delay must be >= 0 ns, got ${delayNs}`);
    }
    if (!(loss >= 0 && loss < 1))
      throw new TransportError(`setLinkQuality: loss must be in [0, 1), got ${loss}`);
    if (loss > 0 && !this.links.lossDraw) {
      throw new TransportError(
        "setLinkQuality: loss > 0 needs a random stream (PacketNetworkOptions.lossRandom)",
      );
    }
    this.links.capacity[link] = capacityBps;
    this.links.delayNs[link] = delayNs;
    this.links.loss[link] = loss;
  }

  linkDelayNs(link: number): number {
    return this.links.delayNs[link]!;
  }

  linkCapacity(link: number): number {
    return this.links.capacity[link]!;
  }

  /**
   * A link's rate, bits/s: the mean over the last window of at least 10 ms that closed at a reading (windows are
   * closed by readings, so a rarely read link reports its mean since the previous reading).
   */
  linkLoadBps(link: number): number {
    const now = this.sim.now;
    const dt = now - this.loadAt[link]!;
    if (dt >= LOAD_WINDOW_NS) {
      const bits = this.links.bitsUntilNow(link);
      this.loadRate[link] = ((bits - this.loadBits[link]!) * 1e9) / dt;
      this.loadBits[link] = bits;
      this.loadAt[link] = now;
    }
    return this.loadRate[link]!;
  }

  linkBitsUntilNow(out: Float64Array): Float64Array {
    for (let l = 0; l < this.links.count; l++) out[l] = this.links.bitsUntilNow(l);
    return out;
  }

  linkDropsUntilNow(out: Float64Array): Float64Array {
    out.set(this.links.drops);
    return out;
  }

  /** The queueing a packet sent along `path` now would meet (its FIFOs' backlogs as they are now). */
  probePath(path: ArrayLike<number>): PathProbe {
    let up = true;
    let propagationNs = 0;
    let queueingNs = 0;
    let availableBps = Number.POSITIVE_INFINITY;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      this.checkLink(l, "probePath");
      if (i > 0 && this.topology.links[path[i - 1]!]!.dst !== this.topology.links[l]!.src) {
        throw new TransportError(
          `probePath: hop ${i} (${this.topology.links[l]!.id}) does not continue the path`,
        );
      }
      up &&= this.isLinkUp(l);
      propagationNs += this.links.delayNs[l]!;
      queueingNs += this.links.waitNs(l);
      availableBps = Math.min(availableBps, Math.max(0, this.linkCapacity(l) - this.linkLoadBps(l)));
    }
    return { up, propagationNs, queueingNs, availableBps: up ? availableBps : 0 };
  }

  // ---------------------------------------------------------------- internals

  private completed(slot: number): void {
    const id = this.fId[slot]!;
    this.slotOfId.delete(id);
    if (!this.trace?.has("flowEnd")) return;
    const now = this.sim.now;
    const start = this.fStart[slot]!;
    const record: FlowRecord = {
      flow: id,
      src: this.fSrc[slot]!,
      dst: this.fDst[slot]!,
      sizeBytes: this.fSize[slot]!,
      startNs: start,
      endNs: now,
      fctNs: now - start,
      idealFctNs: this.fIdeal[slot]!,
      slowdown: (now - start) / this.fIdeal[slot]!,
      path: Array.from(this.paths.paths[this.tcp.fwdPath(slot)]!),
      tag: this.fTag[slot]!,
      wireBytes: this.fSize[slot]!,
      mirrored: false,
      mirrorWon: false,
    };
    this.trace.emit("flowEnd", record);
  }

  /** Interns a flow's path and the reverse path its ACKs take. @throws TransportError */
  private internPaths(src: number, dst: number, path: ArrayLike<number>): [number, number] {
    const topo = this.topology;
    if (src === dst) throw new TransportError(`flow source and destination are the same node (${src})`);
    if (path.length === 0) throw new TransportError(`empty path for flow ${src} -> ${dst}`);
    const back: number[] = new Array<number>(path.length);
    let at = src;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      if (!Number.isInteger(l) || l < 0 || l >= topo.linkCount) {
        throw new TransportError(
          `path hop ${i}: unknown link index ${l} (the packet model has no pseudo links)`,
        );
      }
      const link = topo.links[l]!;
      if (link.src !== at)
        throw new TransportError(`path hop ${i}: link ${link.id} does not start at node ${at}`);
      const r = link.reverse >= 0 ? link.reverse : (topo.linksBetween(link.dst, link.src)[0] ?? -1);
      if (r < 0) throw new TransportError(`path hop ${i}: link ${link.id} has no link back for the ACKs`);
      back[path.length - 1 - i] = r;
      at = link.dst;
    }
    if (at !== dst) throw new TransportError(`path ends at node ${at}, not at the destination ${dst}`);
    return [this.paths.intern(path), this.paths.intern(back)];
  }

  private checkLink(link: number, what: string): void {
    if (!Number.isInteger(link) || link < 0 || link >= this.links.count) {
      throw new TransportError(`${what}: ${link} is not a link index (0..${this.links.count - 1})`);
    }
  }

  private slotOf(flow: number): number {
    const s = this.slotOfId.get(flow);
    if (s === undefined) throw new TransportError(`unknown or finished flow ${flow}`);
    return s;
  }

  private allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.slotsUsed === this.slotCap) this.growSlots(2 * this.slotCap);
    return this.slotsUsed++;
  }

  private growSlots(n: number): void {
    this.fId = growF64(this.fId, n);
    this.fSrc = growI32(this.fSrc, n);
    this.fDst = growI32(this.fDst, n);
    this.fTag = growF64(this.fTag, n);
    this.fSize = growF64(this.fSize, n);
    this.fStart = growF64(this.fStart, n);
    this.fIdeal = growF64(this.fIdeal, n);
    this.slotCap = n;
  }
}
