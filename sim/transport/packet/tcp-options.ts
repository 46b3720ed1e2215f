/**
 * The TCP of the packet model (sim/transport/packet/): its parameters, with Linux's defaults (what the emulator's
 * namespaces run) and ns-3 3.37's (for the validation against ns-3, bench/ns3-dumbbell.ts).
 *
 * Sizes in bytes, times in integer ns. Sources: RFC 5681 (slow start, congestion avoidance, fast retransmit),
 * RFC 6582 (NewReno fast recovery), RFC 2018 / RFC 6675 / RFC 6937 (SACK, its loss recovery, PRR), RFC 3042 (limited transmit), RFC 6298 (RTO), RFC 1122 section 4.2.3.2
 * (delayed ACKs), RFC 3465 (byte counting), RFC 6928 (initial window 10), RFC 7323 (timestamps, RTT per ACK).
 */
import { TransportError } from "../transport.ts";
import type { CubicImplementation } from "./cubic.ts";

/** Congestion controls the packet model runs. */
export const PACKET_CONGESTION_CONTROLS = ["newreno", "cubic"] as const;
export type PacketCongestionControl = (typeof PACKET_CONGESTION_CONTROLS)[number];

export interface PacketTcpOptions {
  /**
   * Congestion control: NewReno (RFC 5681 + RFC 6582) or CUBIC's window growth and decrease (RFC 9438,
   * sim/transport/packet/cubic.ts; with byte counting; loss recovery stays NewReno's).
   */
  congestionControl: PacketCongestionControl;
  /**
   * Selective acknowledgements (RFC 2018) and SACK-based loss recovery as Linux runs it by default: the RFC 6675
   * scoreboard, loss detection and conservative pipe, with Proportional Rate Reduction (RFC 6937) setting the window
   * during recovery. false: NewReno's recovery (RFC 6582).
   */
  sack: boolean;
  /**
   * CUBIC's hybrid slow start (HyStart: ACK-train and delay detection, Ha and Rhee 2011), on by default in Linux
   * and ns-3 (sim/transport/packet/cubic.ts). Only with CUBIC.
   */
  hystart: boolean;
  /** Whose CUBIC and HyStart details: Linux's tcp_cubic.c or ns-3 3.37's TcpCubic (cubic.ts says where they differ). */
  cubicAs: CubicImplementation;
  /** Whether a flow spends a round trip on SYN / SYN-ACK before its first data segment. */
  handshake: boolean;
  /** Initial congestion window, segments (RFC 6928: 10). */
  initialWindowSegments: number;
  /** Payload bytes per segment (1448 on a 1500-byte MTU with TCP timestamps). */
  mssBytes: number;
  /** IP + TCP header bytes of every packet (20 + 20 + 12 of the timestamps option = 52). */
  headerBytes: number;
  /** Link-layer bytes per packet the links serialize and queue (Ethernet 14, as htb counts frames; ns-3's PPP 2). */
  frameOverheadBytes: number;
  /**
   * Byte counting (RFC 3465 with no limit, as Linux): slow start adds the segments an ACK acknowledges, congestion
   * avoidance one segment per window of acknowledged segments. false: one segment per ACK in slow start and
   * MSS^2 / cwnd per ACK in congestion avoidance (RFC 5681's rules, as ns-3's NewReno).
   */
  byteCounting: boolean;
  /** RTO floor, ns (Linux 200 ms; RFC 6298 and ns-3: 1 s). */
  minRtoNs: number;
  /** RTO before the first RTT sample, ns (RFC 6298: 1 s). */
  initialRtoNs: number;
  /** RTO ceiling, ns (Linux 120 s). */
  maxRtoNs: number;
  /** Clock granularity G of RFC 6298's RTO = SRTT + max(G, 4 RTTVAR), ns. */
  clockGranularityNs: number;
  /** Consecutive timeouts after which a flow gives up (Linux tcp_retries2 = 15); it then never completes. */
  maxRetries: number;
  /** Delayed-ACK timer, ns (Linux 40 ms; ns-3 200 ms). */
  delayedAckNs: number;
  /** In-order full segments per ACK (RFC 1122: at most 2). */
  ackEverySegments: number;
  /** The first this many data segments of a connection are ACKed at once (Linux's quick-ACK mode; ns-3: 0). */
  quickAckSegments: number;
  /** Receive window, bytes: the sender never has more than this unacknowledged. */
  receiveWindowBytes: number;
}

/** Linux's defaults (kernel 5.x/6.x) as the emulator's namespaces run them, with NewReno. */
export const LINUX_PACKET_TCP: Readonly<PacketTcpOptions> = Object.freeze({
  congestionControl: "newreno",
  sack: true,
  hystart: true,
  cubicAs: "linux",
  handshake: true,
  initialWindowSegments: 10,
  mssBytes: 1448,
  headerBytes: 52,
  frameOverheadBytes: 14,
  byteCounting: true,
  minRtoNs: 200e6,
  initialRtoNs: 1e9,
  maxRtoNs: 120e9,
  clockGranularityNs: 1e6,
  maxRetries: 15,
  delayedAckNs: 40e6,
  ackEverySegments: 2,
  quickAckSegments: 16,
  receiveWindowBytes: 6 * 1024 * 1024,
});

/** The timers {@link scaleTcpTimers} scales. */
export type TcpTimers = Pick<
  PacketTcpOptions,
  "minRtoNs" | "initialRtoNs" | "maxRtoNs" | "clockGranularityNs" | "delayedAckNs"
>;

/**
 * `base`'s timers (RTO floor, initial and maximum RTO, clock granularity, delayed-ACK timer) times `scale`, rounded
 * to integer ns, at least 1 ns. The emulator's kernel runs its timers in wall time; at timeCompression c a simulated
 * second lasts 1 / c wall seconds, so Linux's 200 ms RTO floor is 200 c ms of simulated time there, and the packet
 * model compared beside it runs `scaleTcpTimers(LINUX_PACKET_TCP, c)`.
 * @throws TransportError when `scale` is not a positive finite number.
 */
export function scaleTcpTimers(base: Readonly<TcpTimers>, scale: number): TcpTimers {
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new TransportError(`TCP timer scale ${scale}: must be a positive finite number`);
  }
  const t = (ns: number) => Math.max(1, Math.round(ns * scale));
  return {
    minRtoNs: t(base.minRtoNs),
    initialRtoNs: t(base.initialRtoNs),
    maxRtoNs: t(base.maxRtoNs),
    clockGranularityNs: t(base.clockGranularityNs),
    delayedAckNs: t(base.delayedAckNs),
  };
}

/**
 * ns-3 3.37's TcpNewReno as bench/ns3-dumbbell.ts configures it (segment 1448, initial window 10, delayed ACK
 * count 2, buffers 4 MiB, point-to-point links), with SACK off and classic recovery, which the bench asks ns-3 for.
 */
export const NS3_PACKET_TCP: Readonly<PacketTcpOptions> = Object.freeze({
  ...LINUX_PACKET_TCP,
  sack: false,
  hystart: false,
  cubicAs: "ns3",
  frameOverheadBytes: 2,
  byteCounting: false,
  minRtoNs: 1e9,
  delayedAckNs: 200e6,
  quickAckSegments: 0,
  receiveWindowBytes: 4 * 1024 * 1024,
});

/** ns-3 3.37's TcpCubic as bench/ns3-dumbbell.ts configures it, HyStart off (asked of ns-3 by the bench). */
export const NS3_PACKET_CUBIC: Readonly<PacketTcpOptions> = Object.freeze({
  ...NS3_PACKET_TCP,
  congestionControl: "cubic",
  byteCounting: true,
});

/** @throws TransportError naming the first bad field. */
export function checkPacketTcp(o: PacketTcpOptions): void {
  const ints: (keyof PacketTcpOptions)[] = [
    "initialWindowSegments",
    "mssBytes",
    "ackEverySegments",
    "maxRetries",
    "minRtoNs",
    "initialRtoNs",
    "maxRtoNs",
    "delayedAckNs",
  ];
  for (const k of ints) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      throw new TransportError(`packet tcp: ${k} must be a positive integer, got ${String(v)}`);
    }
  }
  for (const k of ["headerBytes", "frameOverheadBytes", "quickAckSegments", "clockGranularityNs"] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 0) {
      throw new TransportError(`packet tcp: ${k} must be a non-negative integer, got ${o[k]}`);
    }
  }
  if (!(o.receiveWindowBytes >= o.mssBytes)) {
    throw new TransportError(
      `packet tcp: receiveWindowBytes must hold at least one segment (${o.mssBytes}), got ${o.receiveWindowBytes}`,
    );
  }
  if (typeof o.hystart !== "boolean") {
    throw new TransportError(`packet tcp: hystart must be true or false, got ${String(o.hystart)}`);
  }
  if (o.cubicAs !== "linux" && o.cubicAs !== "ns3") {
    throw new TransportError(`packet tcp: cubicAs must be "linux" or "ns3", got ${String(o.cubicAs)}`);
  }
  if (typeof o.sack !== "boolean") {
    throw new TransportError(`packet tcp: sack must be true or false, got ${String(o.sack)}`);
  }
  if (!PACKET_CONGESTION_CONTROLS.includes(o.congestionControl)) {
    throw new TransportError(
      `packet tcp: congestionControl must be one of ${PACKET_CONGESTION_CONTROLS.join(", ")}, got ${o.congestionControl}`,
    );
  }
}

/** ns-3 3.37's TcpNewReno with its defaults' loss recovery (SACK on, TcpPrrRecovery), as NS3_PACKET_TCP otherwise. */
export const NS3_PACKET_TCP_SACK: Readonly<PacketTcpOptions> = Object.freeze({
  ...NS3_PACKET_TCP,
  sack: true,
});

/** ns-3 3.37's TcpCubic with SACK and PRR (its defaults), HyStart off, as NS3_PACKET_CUBIC otherwise. */
export const NS3_PACKET_CUBIC_SACK: Readonly<PacketTcpOptions> = Object.freeze({
  ...NS3_PACKET_CUBIC,
  sack: true,
});

/** ns-3 3.37's TcpCubic with its defaults' SACK, PRR and HyStart, as NS3_PACKET_CUBIC otherwise. */
export const NS3_PACKET_CUBIC_DEFAULTS: Readonly<PacketTcpOptions> = Object.freeze({
  ...NS3_PACKET_CUBIC_SACK,
  hystart: true,
});
