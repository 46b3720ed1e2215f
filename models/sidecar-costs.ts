/**
 * What a mutual-TLS sidecar tunnel costs, as inputs for the simulator's sidecar model (issue 16: "the costs that
 * matter: processing delay, TLS handshake round trips, relay hops, encryption throughput limits (measured in the
 * emulator, stated as inputs)"). Nothing here is derived at run time: protocol facts come from their RFCs, measured
 * numbers from `npm run bench -- sidecar-tls` (bench/sidecar-tls.ts, results/bench/sidecar-tls.json), the
 * emulator's real sidecars (emulate/sidecar/), and are refreshed by hand when that benchmark changes.
 *
 * Caveat on the measured numbers: they were taken on a 2-core machine shared with other jobs (load average 14-35),
 * so the wall-clock figures (goodput ratio, set-up time) are pessimistic and noisy; CPU per byte is the operating
 * system's accounting of the sidecar processes and depends less on the load. Take goodput limits from
 * {@link SIDECAR_CPU_S_PER_GB} and the CPU the sidecars get, not from one run's ratio.
 *
 * Units: sizes in bytes, times in ns, rates in bits/s, CPU in CPU-seconds.
 */

/**
 * Round trips before the client's first payload byte leaves, for a new tunnel: 1 for TCP's handshake and 1 for
 * TLS 1.3's full handshake (RFC 8446 section 2: the client sends Finished and application data after one round
 * trip; mutual authentication adds the client's Certificate and CertificateVerify to that same flight, no round
 * trip). The payload then needs half a round trip to arrive. No 0-RTT (the sidecars do not enable early data).
 */
export const TLS_SETUP_RTTS = 2;

/**
 * Extra round trips for a tunnel through one relay sidecar (emulate/sidecar/tunnel.ts): TCP and TLS 1.3 to the
 * relay (2 round trips to the relay), then the relay's TCP connect to the destination sidecar (1 round trip relay
 * to destination), then the end-to-end TLS 1.3 handshake through the relay (1 round trip end to end).
 */
export const RELAY_SETUP_RTTS = { toRelay: 2, relayToDestination: 1, endToEnd: 1 } as const;

/**
 * Bytes a TLS 1.3 record adds to at most 2^14 payload bytes: 5 header + 1 inner content type + 16 AEAD tag
 * (RFC 8446 section 5.2, AES-GCM and ChaCha20-Poly1305 both have 16-byte tags).
 */
export const TLS_RECORD_OVERHEAD_BYTES = 22;
/** Largest TLS 1.3 record payload, bytes (RFC 8446 section 5.1). */
export const TLS_RECORD_PAYLOAD_BYTES = 16_384;

/**
 * Bytes on the wire per payload byte through a tunnel, from the record overhead alone (full records):
 * (16384 + 22) / 16384 = 1.00134. Relayed tunnels carry two nested TLS sessions on the first segment.
 */
export const TLS_WIRE_FACTOR =
  (TLS_RECORD_PAYLOAD_BYTES + TLS_RECORD_OVERHEAD_BYTES) / TLS_RECORD_PAYLOAD_BYTES;

/**
 * Three runs of `npm run bench -- sidecar-tls` on the shared 2-core machine, each with the machine's load average
 * (1 min) before and after; per rate the median of 3 iperf3 flows: goodput ratio mTLS / plain, CPU-seconds per GB
 * of both sidecars, and the median tunnel set-up time (40 tunnels, 0-delay link), ms. The last run is the one in
 * results/bench/sidecar-tls.json.
 */
export const MEASURED_RUNS = [
  {
    loadavg: [18.8, 14.2],
    "100Mbps": { ratio: 0.993, cpuSPerGB: 15.5, setupMs: 6.5 },
    "1Gbps": { ratio: 0.484, cpuSPerGB: 11.0, setupMs: 4.4 },
  },
  {
    loadavg: [18.8, 31.2],
    "100Mbps": { ratio: 0.864, cpuSPerGB: 24.1, setupMs: 202 },
    "1Gbps": { ratio: 0.073, cpuSPerGB: 17.6, setupMs: 75 },
  },
  {
    loadavg: [30.3, 34.8],
    "100Mbps": { ratio: 0.761, cpuSPerGB: 17.0, setupMs: 107 },
    "1Gbps": { ratio: 0.09, cpuSPerGB: 18.3, setupMs: 24 },
  },
] as const;

/**
 * CPU-seconds per GB (1e9 payload bytes) of the two sidecars of a direct tunnel together (plain TCP in from the
 * application, TLS 1.3 AES-GCM out, TLS in, plain TCP out to the application; Node 20 streams): 11-24 in
 * {@link MEASURED_RUNS}, the least loaded run 11-15.5. Of that, encryption plus decryption alone is about 2.3-2.7
 * (one process, loopback, AES-128/256-GCM); the rest is the four socket copies and stream handling. So one sidecar
 * with a core to itself carries at most about 1e9 * 8 / (15 / 2) bits/s ~ 1 Gbit/s of payload, and proportionally
 * less when it shares one: on the loaded machine the tunnel was CPU-bound at 1 Gbit/s.
 */
export const SIDECAR_CPU_S_PER_GB = 15;

/**
 * Processing time of a tunnel's set-up on a link without delay, ns: the TCP connect and the TLS 1.3 handshake with
 * mutual authentication (ECDSA P-256 signatures and verifications, CRL check) as the sidecar measures it (from the
 * application's connect to the authenticated session). Median 4.4-6.5 ms in the least loaded run of
 * {@link MEASURED_RUNS} (24-202 ms under load average 30): add it to {@link TLS_SETUP_RTTS} round trips.
 */
export const TLS_SETUP_PROCESSING_NS = 5_000_000;

/**
 * Goodput of the mTLS tunnel over plain TCP on the same htb-shaped veth pair, least loaded run of
 * {@link MEASURED_RUNS}: the target (>= 0.85) held at 100 Mbit/s (0.99; 0.86 and 0.76 under load average
 * 30) and not at 1 Gbit/s (0.48; CPU-bound, see {@link SIDECAR_CPU_S_PER_GB}).
 */
export const MEASURED_GOODPUT_RATIO = { "100Mbps": 0.99, "1Gbps": 0.48 } as const;

/**
 * Payload a secure virtual link's tunnel carries at most, bits/s: its two sidecars are one Node process each, each
 * doing about half of {@link SIDECAR_CPU_S_PER_GB} per GB, so with a core each they move 8e9 / (15 / 2) ~ 1.07
 * Gbit/s of payload. The simulator caps the flows of one secure virtual link together at it (an htb-like class
 * ceiling in the fluid model); the emulator's real sidecars share the machine's cores with everything else, so
 * under load they give less (MEASURED_RUNS at 1 Gbit/s).
 */
export const SIDECAR_MAX_PAYLOAD_BPS = (8e9 / SIDECAR_CPU_S_PER_GB) * 2;

/**
 * One-way delay each sidecar adds to a tunnelled byte, ns: user-space relaying (a read from one socket, AES-GCM,
 * a write to the other; Node streams). Measured by `npm run bench -- secure-link` (bench/secure-link.ts,
 * results/bench/secure-link.json, `echoRttMs`): the median round trip of a 1 kB echo over an open connection through
 * the secure virtual link against the plain one on the same 2-hop path (20 ms RTT), over the 4 sidecar passes of a
 * round trip. On a quiet machine (load average 1.7-1.9, 2026-12-03): 21.366 vs 20.614 ms, 0.188 ms a pass (two
 * earlier runs at load average 17-26 gave -0.18 and +0.23 ms, inside their reps' spread).
 */
export const SIDECAR_HOP_DELAY_NS = 188_000;

/** What a tunnel costs one flow through it (the simulator's FlowSpec.tunnel). */
export interface TunnelCost {
  /** Set-up before the flow's first byte beyond TCP's own handshake, ns. */
  setupNs: number;
  /** One-way delay the tunnel adds to each round trip's way and to the last byte, ns. */
  delayNs: number;
  /** Bytes on the wire per payload byte (>= 1). */
  wireFactor: number;
}

/**
 * The cost of a secure virtual link's mutual-TLS tunnel (emulate/sidecar/secure-link.ts) to one flow through it,
 * on a path of one-way propagation `oneWayNs` (the model the simulator runs; every input above, each with its
 * source):
 *
 * - set-up: the application's connection ends at its local sidecar at once; the sidecar's TCP handshake and TLS 1.3
 *   full handshake to the far sidecar take {@link TLS_SETUP_RTTS} = 2 round trips (RFC 8446 section 2) plus the
 *   handshake's processing {@link TLS_SETUP_PROCESSING_NS} (measured, bench/sidecar-tls.ts), against TCP's one
 *   round trip without the tunnel: 1 round trip (of path plus sidecars) + the processing, beyond TCP's start-up;
 * - delay: two sidecars relay each byte, {@link SIDECAR_HOP_DELAY_NS} each (measured, bench/secure-link.ts);
 * - bytes: {@link TLS_WIRE_FACTOR}, 22 bytes per 16 kB record (RFC 8446 section 5.2).
 *
 * The throughput cap ({@link SIDECAR_MAX_PAYLOAD_BPS}) is per link, not per flow: the control plane applies it.
 */
export function tlsTunnelCost(oneWayNs: number): TunnelCost {
  const delayNs = 2 * SIDECAR_HOP_DELAY_NS;
  const rttNs = 2 * (oneWayNs + delayNs);
  return {
    setupNs: (TLS_SETUP_RTTS - 1) * rttNs + TLS_SETUP_PROCESSING_NS,
    delayNs,
    wireFactor: TLS_WIRE_FACTOR,
  };
}
