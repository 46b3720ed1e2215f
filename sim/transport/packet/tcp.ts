/**
 * TCP senders and receivers of the packet model, one pair per flow slot, as typed arrays (struct of arrays).
 *
 * Connection. With a handshake the sender sends a SYN; the receiver answers with a SYN-ACK; the sender's first
 * data segment leaves when the SYN-ACK arrives (it carries the third handshake ACK, a pure ACK is not sent). A lost
 * SYN or SYN-ACK is sent again after the RTO (initially 1 s, doubling), and the connection then starts with a window
 * of one segment (RFC 6298 section 5.7, as Linux). No FIN: a flow completes when its receiver holds every byte in
 * order (what a sink application sees, ns-3's PacketSink too).
 *
 * Sender (segments indexed 0 .. n-1; sndUna: first unacknowledged, sndNxt: next to send, sndMax: one past the
 * highest sent). It sends while (sndNxt - sndUna + 1) x MSS <= cwnd (plus one segment per duplicate ACK before
 * the third: limited transmit, RFC 3042) and within the receive window. Slow start from the initial window while
 * cwnd < ssthresh (initially unlimited), then congestion avoidance (RFC 5681; byte counting or per-ACK increase,
 * {@link PacketTcpOptions.byteCounting}). Three duplicate ACKs: fast retransmit and NewReno fast recovery (RFC 6582):
 * ssthresh = max(FlightSize / 2, 2 MSS), retransmit sndUna, cwnd = ssthresh + 3 MSS, +MSS per further duplicate;
 * a partial ACK retransmits the next hole and deflates cwnd by the newly acked bytes less one MSS (only the first
 * partial ACK restarts the retransmission timer: RFC 6582's "impatient" variant); the ACK that
 * covers `recover` (sndMax at entry) ends recovery with cwnd = ssthresh. A new recovery only starts once the
 * cumulative ACK has passed `recover`. Retransmission timeout (RFC 6298): RTO = max(minRto, SRTT + max(G, 4
 * RTTVAR)), samples from the echoed timestamps of every ACK of new data (RFC 7323), doubled per timeout up to
 * maxRto; a timeout sets ssthresh as above, cwnd = 1 MSS, recover = sndMax, and goes back to sndUna (go-back-N).
 * After maxRetries consecutive timeouts the sender gives up: the flow never completes. With CUBIC
 * (sim/transport/packet/cubic.ts) the window's growth in congestion avoidance and its decrease follow RFC 9438;
 * recovery stays as above.
 *
 * Receiver. Cumulative ACKs (the next segment expected) echoing TS.Recent (RFC 7323: the timestamp of the segment
 * that advanced the left edge when the last ACK was sent). In-order segments are ACKed every ackEverySegments, or
 * when the delayed-ACK timer expires; the first quickAckSegments segments, segments out of order, duplicates and
 * segments that fill a hole are ACKed at once (RFC 5681 section 4.2). Out-of-order segments wait in a ring of
 * flags as large as the receive window.
 *
 * Timers are lazy: a deadline per flow and at most one pending event, which re-arms itself when the deadline moved
 * later, so restarting the RTO on every ACK costs no event. Packets are handles of a {@link PacketPool}; a flow slot
 * is released (host.released) once its sender is done, its timers have fired and none of its packets is in flight.
 */
import type { Simulator } from "../../kernel/simulator.ts";
import { growF64, growI32, growU8 } from "../typed-arrays.ts";
import { Cubic } from "./cubic.ts";
import type { PacketLinks, PacketSink } from "./links.ts";
import { ACK, DATA, type PacketPool, SYN, SYN_ACK } from "./packets.ts";
import { SackBoard } from "./sack.ts";
import type { PacketTcpOptions } from "./tcp-options.ts";

/** Sender states. */
const FREE = 0;
const SYN_SENT = 1;
const OPEN = 2;
const DONE = 3;
/** Receiver states. */
const LISTEN = 0;
const RECEIVING = 1;
const COMPLETE = 2;

const INF = Number.POSITIVE_INFINITY;

export interface TcpHost {
  /** The receiver of `slot` holds every byte (the flow's completion). */
  completed(slot: number): void;
  /** `slot` may be reused. */
  released(slot: number): void;
}

/** Counters over all flows, for conservation checks and benchmarks. */
export interface TcpCounters {
  /** Data segments sent, retransmissions included. */
  segmentsSent: number;
  retransmissions: number;
  /** Payload bytes of data segments sent / delivered to receivers (duplicates included) / dropped. */
  payloadSent: number;
  payloadDelivered: number;
  payloadDropped: number;
  fastRetransmits: number;
  timeouts: number;
}

export class TcpFlows implements PacketSink {
  readonly counters: TcpCounters = {
    segmentsSent: 0,
    retransmissions: 0,
    payloadSent: 0,
    payloadDelivered: 0,
    payloadDropped: 0,
    fastRetransmits: 0,
    timeouts: 0,
  };
  private cap = 0;
  // sender
  private state = new Uint8Array(0);
  private nSeg = new Int32Array(0);
  private lastBytes = new Int32Array(0);
  private sndUna = new Int32Array(0);
  private sndNxt = new Int32Array(0);
  private sndMax = new Int32Array(0);
  private cwnd = new Float64Array(0);
  private ssthresh = new Float64Array(0);
  private caAcked = new Float64Array(0);
  private dupAcks = new Int32Array(0);
  private recover = new Int32Array(0);
  private inRecovery = new Uint8Array(0);
  /** Whether the current recovery has seen a partial ACK (RFC 6582's "impatient" timer: only the first restarts it). */
  private partialAcked = new Uint8Array(0);
  private srtt = new Float64Array(0);
  private rttvar = new Float64Array(0);
  private rto = new Float64Array(0);
  private rtoAt = new Float64Array(0);
  private rtoPending = new Uint8Array(0);
  /** The pending RTO event's time and id. */
  private rtoEventAt = new Float64Array(0);
  private rtoEvent = new Float64Array(0);
  private retries = new Int32Array(0);
  private fwd = new Int32Array(0);
  private rev = new Int32Array(0);
  private inFlight = new Int32Array(0);
  // receiver
  private rState = new Uint8Array(0);
  private rcvNxt = new Int32Array(0);
  private unacked = new Int32Array(0);
  private lastAckSent = new Int32Array(0);
  private tsRecent = new Float64Array(0);
  private ackAt = new Float64Array(0);
  private ackPending = new Uint8Array(0);
  private oooCount = new Int32Array(0);
  private readonly ooo: (Uint8Array | null)[] = [];
  private readonly mss: number;
  private readonly rwndSegs: number;
  private readonly ringSize: number;
  private readonly ctlWire: number;
  /** CUBIC's state (sim/transport/packet/cubic.ts), or null for NewReno. */
  private readonly cubic: Cubic | null;
  /** The SACK scoreboard and PRR (sim/transport/packet/sack.ts), or null without SACK. */
  private readonly board: SackBoard | null;

  constructor(
    private readonly sim: Simulator,
    private readonly pool: PacketPool,
    private readonly links: PacketLinks,
    private readonly o: Readonly<PacketTcpOptions>,
    private readonly host: TcpHost,
  ) {
    this.mss = o.mssBytes;
    this.rwndSegs = Math.max(1, Math.floor(o.receiveWindowBytes / o.mssBytes));
    let ring = 16;
    while (ring <= this.rwndSegs) ring *= 2;
    this.ringSize = ring;
    this.ctlWire = o.headerBytes + o.frameOverheadBytes;
    this.cubic = o.congestionControl === "cubic" ? new Cubic(o.hystart, o.cubicAs) : null;
    this.board = o.sack ? new SackBoard(ring) : null;
    this.grow(256);
  }

  /** Whether `slot` is in use (its sender not yet released). */
  inUse(slot: number): boolean {
    return slot < this.cap && this.state[slot] !== FREE;
  }

  /** Opens a connection for `sizeBytes` on interned forward and reverse paths; sends the SYN or the first window. */
  open(slot: number, sizeBytes: number, fwd: number, rev: number): void {
    if (slot >= this.cap) this.grow(Math.max(slot + 1, 2 * this.cap));
    const n = Math.max(1, Math.ceil(sizeBytes / this.mss));
    this.nSeg[slot] = n;
    this.lastBytes[slot] = Math.ceil(sizeBytes - (n - 1) * this.mss);
    this.sndUna[slot] = 0;
    this.sndNxt[slot] = 0;
    this.sndMax[slot] = 0;
    this.cwnd[slot] = this.o.initialWindowSegments * this.mss;
    this.ssthresh[slot] = INF;
    this.caAcked[slot] = 0;
    this.dupAcks[slot] = 0;
    this.recover[slot] = 0;
    this.inRecovery[slot] = 0;
    this.srtt[slot] = 0;
    this.rttvar[slot] = 0;
    this.rto[slot] = this.o.initialRtoNs;
    this.rtoAt[slot] = INF;
    this.retries[slot] = 0;
    this.fwd[slot] = fwd;
    this.rev[slot] = rev;
    this.inFlight[slot] = 0;
    this.rState[slot] = this.o.handshake ? LISTEN : RECEIVING;
    this.rcvNxt[slot] = 0;
    this.unacked[slot] = 0;
    this.lastAckSent[slot] = 0;
    this.tsRecent[slot] = -1;
    this.ackAt[slot] = INF;
    this.oooCount[slot] = 0;
    this.cubic?.reset(slot, this.sim.now);
    this.board?.reset(slot);
    if (this.o.handshake) {
      this.state[slot] = SYN_SENT;
      this.sendControl(slot, SYN, this.fwd[slot]!, -1);
      this.armRto(slot);
    } else {
      this.state[slot] = OPEN;
      this.trySend(slot);
    }
  }

  /** Moves a connection's packets to come onto other interned paths (packets in flight keep theirs). */
  setPaths(slot: number, fwd: number, rev: number): void {
    this.fwd[slot] = fwd;
    this.rev[slot] = rev;
  }

  /** Segments the receiver of `slot` holds in order. */
  receivedSegments(slot: number): number {
    return this.rcvNxt[slot]!;
  }

  fwdPath(slot: number): number {
    return this.fwd[slot]!;
  }

  // ---------------------------------------------------------------- packets in and out

  deliver(p: number): void {
    const pool = this.pool;
    const slot = pool.flow[p]!;
    switch (pool.kind[p]) {
      case DATA:
        this.counters.payloadDelivered += pool.payload[p]!;
        this.onData(slot, pool.seq[p]!, pool.ts[p]!);
        break;
      case ACK:
        if (this.board) this.onSackAck(slot, pool.seq[p]!, pool.ecr[p]!, pool.sack[p]!);
        else this.onAck(slot, pool.seq[p]!, pool.ecr[p]!);
        break;
      case SYN:
        this.onSyn(slot, pool.ts[p]!);
        break;
      case SYN_ACK:
        this.onSynAck(slot, pool.ecr[p]!);
        break;
    }
    this.releasePacket(slot, p);
  }

  dropped(p: number): void {
    if (this.pool.kind[p] === DATA) this.counters.payloadDropped += this.pool.payload[p]!;
    this.releasePacket(this.pool.flow[p]!, p);
  }

  private releasePacket(slot: number, p: number): void {
    this.pool.release(p);
    this.inFlight[slot] = this.inFlight[slot]! - 1;
    this.maybeRelease(slot);
  }

  private newPacket(slot: number, kind: number, path: number, wire: number): number {
    const pool = this.pool;
    const p = pool.alloc();
    pool.flow[p] = slot;
    pool.kind[p] = kind;
    pool.path[p] = path;
    pool.hop[p] = 0;
    pool.wire[p] = wire;
    pool.ts[p] = this.sim.now;
    this.inFlight[slot] = this.inFlight[slot]! + 1;
    return p;
  }

  private sendControl(slot: number, kind: number, path: number, ecr: number, sack = -1): void {
    const p = this.newPacket(slot, kind, path, this.ctlWire);
    this.pool.seq[p] = kind === ACK ? this.rcvNxt[slot]! : 0;
    this.pool.payload[p] = 0;
    this.pool.ecr[p] = ecr;
    this.pool.sack[p] = sack;
    this.links.send(p);
  }

  private sendSegment(slot: number, seg: number): void {
    const payload = seg === this.nSeg[slot]! - 1 ? this.lastBytes[slot]! : this.mss;
    const p = this.newPacket(slot, DATA, this.fwd[slot]!, payload + this.ctlWire);
    this.pool.seq[p] = seg;
    this.pool.payload[p] = payload;
    this.pool.ecr[p] = -1;
    const c = this.counters;
    c.segmentsSent++;
    c.payloadSent += payload;
    if (seg < this.sndMax[slot]!) c.retransmissions++;
    this.links.send(p);
  }

  // ---------------------------------------------------------------- sender

  private onSynAck(slot: number, ecr: number): void {
    if (this.state[slot] !== SYN_SENT) return;
    this.state[slot] = OPEN;
    if (this.retries[slot]! > 0) this.cwnd[slot] = this.mss;
    this.retries[slot] = 0;
    this.rttSample(slot, this.sim.now - ecr);
    this.rtoAt[slot] = INF;
    this.trySend(slot);
  }

  /** Sends what the congestion and receive windows allow; starts the RTO if data is outstanding. */
  private trySend(slot: number): void {
    const mss = this.mss;
    const dup = this.dupAcks[slot]!;
    const wnd = this.cwnd[slot]! + (this.inRecovery[slot] === 0 && dup < 3 ? dup * mss : 0);
    const una = this.sndUna[slot]!;
    const n = this.nSeg[slot]!;
    let nxt = this.sndNxt[slot]!;
    const board = this.board;
    while (nxt < n && (nxt - una + 1) * mss <= wnd && nxt - una < this.rwndSegs) {
      if (board === null || nxt >= this.sndMax[slot]! || !board.isSacked(slot, nxt))
        this.sendSegment(slot, nxt);
      nxt++;
      if (nxt > this.sndMax[slot]!) this.sndMax[slot] = nxt;
    }
    this.sndNxt[slot] = nxt;
    if (this.rtoAt[slot] === INF && this.sndMax[slot]! > una) this.armRto(slot);
  }

  private onAck(slot: number, ack: number, ecr: number): void {
    if (this.state[slot] !== OPEN) return;
    const una = this.sndUna[slot]!;
    if (ack > una) {
      this.newAck(slot, ack, ecr);
    } else if (ack === una && this.sndMax[slot]! > una) {
      this.duplicateAck(slot, ack);
    }
  }

  private newAck(slot: number, ack: number, ecr: number): void {
    const mss = this.mss;
    const acked = ack - this.sndUna[slot]!;
    if (ecr >= 0) this.ackSample(slot, this.sim.now - ecr, ack);
    this.retries[slot] = 0;
    this.sndUna[slot] = ack;
    if (this.sndNxt[slot]! < ack) this.sndNxt[slot] = ack;
    if (this.inRecovery[slot] === 1) {
      if (ack >= this.recover[slot]!) {
        this.inRecovery[slot] = 0;
        this.dupAcks[slot] = 0;
        this.cwnd[slot] = this.ssthresh[slot]!;
      } else {
        // partial ACK (RFC 6582 step 5): retransmit the next hole, deflate; only the first one restarts the timer
        this.sendSegment(slot, ack);
        this.cwnd[slot] = Math.max(mss, this.cwnd[slot]! - acked * mss + mss);
        if (this.partialAcked[slot] === 0) {
          this.partialAcked[slot] = 1;
          this.armRto(slot);
        }
        this.trySend(slot);
        return;
      }
    } else {
      this.dupAcks[slot] = 0;
      this.increase(slot, acked);
    }
    if (ack >= this.nSeg[slot]!) {
      this.state[slot] = DONE;
      this.rtoAt[slot] = INF;
      this.maybeRelease(slot);
      return;
    }
    this.armRto(slot);
    this.trySend(slot);
  }

  private duplicateAck(slot: number, ack: number): void {
    const dup = this.dupAcks[slot]! + 1;
    this.dupAcks[slot] = dup;
    const mss = this.mss;
    if (this.inRecovery[slot] === 1) {
      this.cwnd[slot] = this.cwnd[slot]! + mss;
    } else if (dup === 3 && ack >= this.recover[slot]!) {
      this.ssthresh[slot] = this.lossThreshold(slot, (this.sndMax[slot]! - ack) * mss);
      this.recover[slot] = this.sndMax[slot]!;
      this.cwnd[slot] = this.ssthresh[slot]! + 3 * mss;
      this.inRecovery[slot] = 1;
      this.partialAcked[slot] = 0;
      this.counters.fastRetransmits++;
      this.sendSegment(slot, ack);
      this.armRto(slot);
    }
    this.trySend(slot);
  }

  /**
   * An ACK with SACK (sim/transport/packet/sack.ts): the cumulative ACK and the reported segment update the
   * scoreboard; outside recovery as {@link onAck} (window growth, duplicate ACKs with limited transmit); recovery
   * starts on the third duplicate ACK or once the first unacknowledged segment is lost by RFC 6675's IsLost; in
   * recovery PRR sets the window and NextSeg chooses what to send; the ACK reaching `recover` ends it (cwnd =
   * ssthresh).
   */
  private onSackAck(slot: number, ack: number, ecr: number, sack: number): void {
    if (this.state[slot] !== OPEN) return;
    const board = this.board!;
    const una = this.sndUna[slot]!;
    let delivered = 0;
    if (ack > una) {
      if (ecr >= 0) this.ackSample(slot, this.sim.now - ecr, ack);
      this.retries[slot] = 0;
      delivered = board.advance(slot, una, ack);
      this.sndUna[slot] = ack;
      if (this.sndNxt[slot]! < ack) this.sndNxt[slot] = ack;
    }
    if (sack >= ack && sack < this.sndMax[slot]! && board.mark(slot, sack)) delivered++;
    if (ack >= this.nSeg[slot]!) {
      this.state[slot] = DONE;
      this.rtoAt[slot] = INF;
      this.maybeRelease(slot);
      return;
    }
    if (this.inRecovery[slot] === 1 && ack >= this.recover[slot]!) {
      this.inRecovery[slot] = 0;
      this.dupAcks[slot] = 0;
      this.cwnd[slot] = this.ssthresh[slot]!;
    } else if (this.inRecovery[slot] === 0) {
      if (ack > una) {
        this.dupAcks[slot] = 0;
        this.increase(slot, ack - una);
      } else if (this.sndMax[slot]! > una) {
        this.dupAcks[slot] = this.dupAcks[slot]! + 1;
      }
      const lost = board.lostBound(slot, ack) > ack;
      if (ack >= this.recover[slot]! && (this.dupAcks[slot]! >= 3 || lost)) this.enterSackRecovery(slot);
    }
    if (ack > una) this.armRto(slot);
    if (this.inRecovery[slot] === 1) this.sendRecovery(slot, delivered);
    else this.trySend(slot);
  }

  /** Fast retransmit with SACK: ssthresh as {@link lossThreshold}, PRR's start, the first unacknowledged segment again. */
  private enterSackRecovery(slot: number): void {
    const una = this.sndUna[slot]!;
    const flight = this.sndMax[slot]! - una;
    this.ssthresh[slot] = this.lossThreshold(slot, flight * this.mss);
    this.recover[slot] = this.sndMax[slot]!;
    this.inRecovery[slot] = 1;
    this.counters.fastRetransmits++;
    const board = this.board!;
    board.startRecovery(slot, una, flight);
    if (!board.isSacked(slot, una)) {
      this.sendSegment(slot, una);
      board.retransmitted(slot, una);
      board.sentInRecovery(slot);
    }
    this.armRto(slot);
  }

  /** In recovery: PRR's window for an ACK delivering `delivered` segments, then NextSeg while the pipe has room. */
  private sendRecovery(slot: number, delivered: number): void {
    const board = this.board!;
    const mss = this.mss;
    const una = this.sndUna[slot]!;
    let pipe = board.pipe(slot, una, this.sndMax[slot]!);
    const cwnd = board.prrWindow(slot, delivered, pipe, this.ssthresh[slot]! / mss);
    this.cwnd[slot] = Math.max(mss, cwnd * mss);
    while (pipe + 1 <= cwnd) {
      const lost = board.nextLost(slot, una);
      if (lost >= 0) {
        this.sendSegment(slot, lost);
        board.retransmitted(slot, lost);
      } else {
        const nxt = this.sndMax[slot]!;
        if (nxt < this.nSeg[slot]! && nxt - una < this.rwndSegs) {
          this.sendSegment(slot, nxt);
          this.sndMax[slot] = nxt + 1;
          this.sndNxt[slot] = nxt + 1;
        } else if (nxt < this.nSeg[slot]!) {
          break; // the receive window is full: wait for the cumulative ACK
        } else {
          const s = board.nextTailHole(slot, una);
          if (s < 0) break;
          this.sendSegment(slot, s);
          board.retransmitted(slot, s);
        }
      }
      board.sentInRecovery(slot);
      pipe++;
    }
    if (this.rtoAt[slot] === INF) this.armRto(slot);
  }

  /**
   * ssthresh after a congestion event with `flight` bytes outstanding. NewReno: max(FlightSize / 2, 2 MSS) (RFC 5681
   * eq. 4). CUBIC: beta x the window, taken as min(cwnd, FlightSize), or ssthresh during a recovery (whose cwnd is
   * inflated by duplicate ACKs, which Linux's PRR does not do).
   */
  private lossThreshold(slot: number, flight: number): number {
    const mss = this.mss;
    if (this.cubic) {
      const w = this.inRecovery[slot] === 1 ? this.ssthresh[slot]! : Math.min(this.cwnd[slot]!, flight);
      return this.cubic.onCongestion(slot, w / mss) * mss;
    }
    return Math.max(flight / 2, 2 * mss);
  }

  /** Window growth for `acked` newly acknowledged segments outside recovery. */
  private increase(slot: number, acked: number): void {
    const mss = this.mss;
    let cwnd = this.cwnd[slot]!;
    const ssthresh = this.ssthresh[slot]!;
    if (this.o.byteCounting || this.cubic) {
      let left = acked;
      if (cwnd < ssthresh) {
        this.cubic?.onSlowStartAck(slot, this.sndUna[slot]!, this.sim.now, this.sndMax[slot]!);
        const take = Math.min(left, Math.ceil((ssthresh - cwnd) / mss));
        cwnd = Math.min(cwnd + take * mss, ssthresh === INF ? INF : Math.max(ssthresh, cwnd));
        left -= take;
      }
      if (left > 0 && this.cubic) {
        const w = this.cubic.increase(slot, cwnd / mss, left, this.sim.now, this.srtt[slot]!);
        cwnd = w * mss;
      } else if (left > 0) {
        // Linux's tcp_cong_avoid_ai: one segment per cwnd segments acknowledged
        const w = Math.max(1, Math.floor(cwnd / mss));
        let acc = this.caAcked[slot]! + left;
        if (acc >= w) {
          cwnd += Math.floor(acc / w) * mss;
          acc %= w;
        }
        this.caAcked[slot] = acc;
      }
    } else if (cwnd < ssthresh) {
      cwnd += mss; // one segment per ACK (ns-3's TcpNewReno::SlowStart)
      if (acked > 1 && cwnd >= ssthresh) cwnd += Math.floor(Math.max(1, (mss * mss) / cwnd));
    } else {
      cwnd += Math.floor(Math.max(1, (mss * mss) / cwnd));
    }
    this.cwnd[slot] = cwnd;
  }

  /**
   * An RTT sample of `r` ns on an ACK of new data up to `ack`: RFC 6298's estimator, and with CUBIC its minimum RTT
   * and HyStart, which may end slow start (ssthresh = cwnd).
   */
  private ackSample(slot: number, r: number, ack: number): void {
    this.rttSample(slot, r);
    const cubic = this.cubic;
    if (cubic === null) return;
    const cwnd = this.cwnd[slot]!;
    const slowStart = cwnd < this.ssthresh[slot]! && this.inRecovery[slot] === 0;
    const sent = this.o.cubicAs === "ns3" ? this.sndMax[slot]! : this.sndNxt[slot]!;
    if (cubic.onRttSample(slot, r, this.sim.now, cwnd / this.mss, slowStart, ack, sent))
      this.ssthresh[slot] = cwnd;
  }

  /** RFC 6298 section 2 with a sample of `r` ns. */
  private rttSample(slot: number, r: number): void {
    if (this.srtt[slot] === 0) {
      this.srtt[slot] = r;
      this.rttvar[slot] = r / 2;
    } else {
      const s = this.srtt[slot]!;
      this.rttvar[slot] = 0.75 * this.rttvar[slot]! + 0.25 * Math.abs(s - r);
      this.srtt[slot] = 0.875 * s + 0.125 * r;
    }
    const o = this.o;
    const rto = this.srtt[slot]! + Math.max(o.clockGranularityNs, 4 * this.rttvar[slot]!);
    this.rto[slot] = Math.min(o.maxRtoNs, Math.max(o.minRtoNs, rto));
  }

  /** Sets the RTO deadline to now + RTO: a pending event later than it is replaced, an earlier one re-arms. */
  private armRto(slot: number): void {
    const at = Math.ceil(this.sim.now + this.rto[slot]!);
    this.rtoAt[slot] = at;
    if (this.rtoPending[slot] === 1) {
      if (this.rtoEventAt[slot]! <= at) return;
      this.sim.cancel(this.rtoEvent[slot]!);
    }
    this.scheduleRto(slot, at);
  }

  private scheduleRto(slot: number, at: number): void {
    this.rtoPending[slot] = 1;
    this.rtoEventAt[slot] = at;
    this.rtoEvent[slot] = this.sim.scheduleAt(at, this.onRtoTimer, 0, slot);
  }

  private readonly onRtoTimer = (slot: number): void => {
    this.rtoPending[slot] = 0;
    const at = this.rtoAt[slot]!;
    if (at === INF) {
      this.maybeRelease(slot);
    } else if (at > this.sim.now) {
      this.scheduleRto(slot, at);
    } else {
      this.timeout(slot);
    }
  };

  private timeout(slot: number): void {
    const o = this.o;
    this.rtoAt[slot] = INF;
    const retries = this.retries[slot]! + 1;
    this.retries[slot] = retries;
    this.rto[slot] = Math.min(o.maxRtoNs, 2 * this.rto[slot]!);
    if (retries > o.maxRetries) {
      this.state[slot] = DONE; // gives up: the flow never completes
      this.maybeRelease(slot);
      return;
    }
    if (this.state[slot] === SYN_SENT) {
      this.sendControl(slot, SYN, this.fwd[slot]!, -1);
      this.armRto(slot);
      return;
    }
    const mss = this.mss;
    const una = this.sndUna[slot]!;
    this.counters.timeouts++;
    this.ssthresh[slot] = this.lossThreshold(slot, (this.sndMax[slot]! - una) * mss);
    this.cubic?.onTimeout(slot, this.sim.now, una);
    this.cwnd[slot] = mss;
    this.caAcked[slot] = 0;
    this.recover[slot] = this.sndMax[slot]!;
    this.inRecovery[slot] = 0;
    this.dupAcks[slot] = 0;
    this.board?.forgetRetransmissions(slot, una, this.sndMax[slot]!);
    this.sndNxt[slot] = una;
    this.armRto(slot);
    this.trySend(slot);
  }

  // ---------------------------------------------------------------- receiver

  private onSyn(slot: number, ts: number): void {
    if (this.rState[slot] === LISTEN) {
      this.rState[slot] = RECEIVING;
      this.tsRecent[slot] = ts;
    }
    this.sendControl(slot, SYN_ACK, this.rev[slot]!, ts);
  }

  private onData(slot: number, seg: number, ts: number): void {
    if (this.rState[slot] === LISTEN) return; // data before the SYN arrived: cannot happen on a FIFO path
    let nxt = this.rcvNxt[slot]!;
    if (seg !== nxt) {
      if (seg > nxt) this.holdOutOfOrder(slot, seg);
      this.sendAck(slot, seg > nxt && this.board ? seg : -1);
      return;
    }
    if (nxt === this.lastAckSent[slot]) this.tsRecent[slot] = ts;
    nxt++;
    let filled = false;
    const ring = this.ooo[slot];
    if (ring && this.oooCount[slot]! > 0) {
      const mask = this.ringSize - 1;
      while (ring[nxt & mask] === 1) {
        ring[nxt & mask] = 0;
        this.oooCount[slot] = this.oooCount[slot]! - 1;
        nxt++;
        filled = true;
      }
    }
    this.rcvNxt[slot] = nxt;
    if (nxt >= this.nSeg[slot]! && this.rState[slot] !== COMPLETE) {
      this.rState[slot] = COMPLETE;
      this.host.completed(slot);
    }
    const unacked = this.unacked[slot]! + 1;
    this.unacked[slot] = unacked;
    if (
      filled ||
      this.oooCount[slot]! > 0 ||
      unacked >= this.o.ackEverySegments ||
      nxt <= this.o.quickAckSegments
    ) {
      this.sendAck(slot);
    } else {
      this.armDelayedAck(slot);
    }
  }

  private holdOutOfOrder(slot: number, seg: number): void {
    if (seg - this.rcvNxt[slot]! >= this.ringSize) return; // beyond the receive window: discarded
    let ring = this.ooo[slot];
    if (!ring) {
      ring = new Uint8Array(this.ringSize);
      this.ooo[slot] = ring;
    }
    const i = seg & (this.ringSize - 1);
    if (ring[i] === 0) {
      ring[i] = 1;
      this.oooCount[slot] = this.oooCount[slot]! + 1;
    }
  }

  /** An ACK now; `sack`: the out-of-order segment it reports (with SACK), else -1. */
  private sendAck(slot: number, sack = -1): void {
    this.unacked[slot] = 0;
    this.lastAckSent[slot] = this.rcvNxt[slot]!;
    this.ackAt[slot] = INF;
    this.sendControl(slot, ACK, this.rev[slot]!, this.tsRecent[slot]!, sack);
  }

  private armDelayedAck(slot: number): void {
    if (this.ackAt[slot] !== INF) return; // the timer runs from the first unacknowledged segment
    const at = this.sim.now + this.o.delayedAckNs;
    this.ackAt[slot] = at;
    if (this.ackPending[slot] === 0) {
      this.ackPending[slot] = 1;
      this.sim.scheduleAt(at, this.onAckTimer, 0, slot);
    }
  }

  private readonly onAckTimer = (slot: number): void => {
    this.ackPending[slot] = 0;
    const at = this.ackAt[slot]!;
    if (at === INF) {
      this.maybeRelease(slot);
    } else if (at > this.sim.now) {
      this.ackPending[slot] = 1;
      this.sim.scheduleAt(at, this.onAckTimer, 0, slot);
    } else {
      if (this.unacked[slot]! > 0) this.sendAck(slot);
      else this.ackAt[slot] = INF;
      this.maybeRelease(slot);
    }
  };

  private maybeRelease(slot: number): void {
    if (
      this.state[slot] === DONE &&
      this.inFlight[slot] === 0 &&
      this.rtoPending[slot] === 0 &&
      this.ackPending[slot] === 0 &&
      this.rState[slot] === COMPLETE
    ) {
      this.state[slot] = FREE;
      const ring = this.ooo[slot];
      if (ring) ring.fill(0);
      this.host.released(slot);
    }
  }

  private grow(n: number): void {
    this.state = growU8(this.state, n);
    this.nSeg = growI32(this.nSeg, n);
    this.lastBytes = growI32(this.lastBytes, n);
    this.sndUna = growI32(this.sndUna, n);
    this.sndNxt = growI32(this.sndNxt, n);
    this.sndMax = growI32(this.sndMax, n);
    this.cwnd = growF64(this.cwnd, n);
    this.ssthresh = growF64(this.ssthresh, n);
    this.caAcked = growF64(this.caAcked, n);
    this.dupAcks = growI32(this.dupAcks, n);
    this.recover = growI32(this.recover, n);
    this.inRecovery = growU8(this.inRecovery, n);
    this.partialAcked = growU8(this.partialAcked, n);
    this.srtt = growF64(this.srtt, n);
    this.rttvar = growF64(this.rttvar, n);
    this.rto = growF64(this.rto, n);
    this.rtoAt = growF64(this.rtoAt, n);
    this.rtoPending = growU8(this.rtoPending, n);
    this.rtoEventAt = growF64(this.rtoEventAt, n);
    this.rtoEvent = growF64(this.rtoEvent, n);
    this.retries = growI32(this.retries, n);
    this.fwd = growI32(this.fwd, n);
    this.rev = growI32(this.rev, n);
    this.inFlight = growI32(this.inFlight, n);
    this.rState = growU8(this.rState, n);
    this.rcvNxt = growI32(this.rcvNxt, n);
    this.unacked = growI32(this.unacked, n);
    this.lastAckSent = growI32(this.lastAckSent, n);
    this.tsRecent = growF64(this.tsRecent, n);
    this.ackAt = growF64(this.ackAt, n);
    this.ackPending = growU8(this.ackPending, n);
    this.oooCount = growI32(this.oooCount, n);
    this.cubic?.grow(n);
    this.board?.grow(n);
    while (this.ooo.length < n) this.ooo.push(null);
    this.cap = n;
  }
}
