/**
 * Intrusion detection for the sidecar mesh (issue 16): a pure, engine-neutral detector over connection events
 * (what a sidecar saw: a connection accepted, refused by authentication or by policy, or a touch of a tripwire
 * port), keyed by source. Both engines feed it: the emulator from the sidecars' refusal log and tripwires
 * (emulate/sidecar/ids.ts), the simulator from its workload. Time is integer ns of the feeding engine's clock.
 *
 * Detectors, each a sliding window per source (events older than the window are evicted first):
 *
 * - **unauthenticated**: at least `auth.count` refused connections (no, bad, revoked or expired certificate, no TLS
 *   1.3 handshake, or not allowed by the zero-trust policy) within `auth.windowNs`. Default 5 in 10 s: fail2ban's
 *   `maxretry = 5` (its `findtime` is 10 min; a mesh whose every peer holds a certificate refuses nobody benign, so
 *   a shorter window only makes detection faster).
 * - **port-scan**, two tests, the first to fire wins:
 *   - Threshold Random Walk (Jung, Paxson, Berger and Balakrishnan, "Fast Portscan Detection Using Sequential
 *     Hypothesis Testing", IEEE S&P 2004): per source, each first contact of a (host, port) multiplies a
 *     likelihood ratio by theta1/theta0 when it succeeds (accepted) and by (1 - theta1)/(1 - theta0) when it fails
 *     (refused, or a tripwire); the source is a scanner when the ratio reaches eta1 = beta/alpha, and benign (the
 *     walk restarts) when it falls to eta0 = (1 - beta)/(1 - alpha). The paper's values theta0 = 0.8, theta1 = 0.2,
 *     alpha = 0.01, beta = 0.99 flag a source after 4 failed first contacts without a success (4^4 = 256 >= 99).
 *   - distinct targets, as Zeek's scan policy (scan.zeek: `port_scan_threshold = 15` ports of one host,
 *     `addr_scan_threshold = 25` hosts, within 5 min).
 * - **flood**: at least `flood.count` connections (any outcome) within `flood.windowNs`, Snort's `rate_filter`
 *   shape (`track by_src, count, seconds`); default 100 in 1 s.
 * - **volume**: an accepted source sending an application more than `volume.factor` times its profiled rate over
 *   `volume.windowNs` (and at least `volume.minBytes`): deviation from a statistical profile, Denning, "An
 *   Intrusion-Detection Model", IEEE TSE 1987. Applications without a profile are not checked.
 *
 * A source is a workload, not a node: the source node and the identity the workload presented (its SPIFFE ID
 * when it authenticated, else {@link UNAUTHENTICATED}: every workload of the node without a certificate, plain TCP
 * included). Each detector keeps its windows per source, so an attacker's refusals never count against the mesh
 * workloads of its node, and a block (models/security/prevention.ts) refuses that identity alone.
 *
 * A source is detected once; afterwards its events are counted as `afterBlock` and never detected again (the
 * prevention side, models/security/prevention.ts, blocks it). Nodes on `trusted` are never detected.
 */
import { UNAUTHENTICATED } from "../policies/verb-args.ts";

/** What a sidecar saw of one connection attempt. */
export type ConnectionOutcome = "accepted" | "refused-auth" | "refused-policy" | "tripwire";

export interface ConnectionEvent {
  /** When, integer ns (the engine's clock). */
  timeNs: number;
  /** Source node id. */
  src: string;
  /** Destination node id. */
  dst: string;
  /** Destination port. */
  port: number;
  outcome: ConnectionOutcome;
  /** Bytes the source sent on it (accepted connections; for the volume detector), when known. */
  bytes?: number;
  /** The application it reached (accepted connections), when known. */
  application?: string;
  /** The SPIFFE ID the source presented, when it authenticated; absent: {@link UNAUTHENTICATED}. */
  identity?: string;
}

/** The identity of an event's source workload: its SPIFFE ID, else {@link UNAUTHENTICATED}. */
export function identityOf(ev: { identity?: string }): string {
  return ev.identity ?? UNAUTHENTICATED;
}

/** The key of a source workload (node and identity) in the detector's tables. */
const sourceKey = (src: string, identity: string): string => `${src} ${identity}`;

export type DetectionKind = "unauthenticated" | "port-scan" | "flood" | "volume";

export interface Detection {
  timeNs: number;
  /** The source node. */
  src: string;
  /** The source workload's identity there (a SPIFFE ID or {@link UNAUTHENTICATED}). */
  identity: string;
  kind: DetectionKind;
  /** One sentence: the evidence and the threshold it crossed. */
  reason: string;
}

/** What a detector found, before it is tied to its source and time. */
type Finding = Pick<Detection, "kind" | "reason">;

export interface IdsThresholds {
  auth: { count: number; windowNs: number };
  trw: { theta0: number; theta1: number; alpha: number; beta: number };
  scan: { distinctPorts: number; distinctHosts: number; windowNs: number };
  flood: { count: number; windowNs: number };
  volume: { factor: number; windowNs: number; minBytes: number };
}

/** The sourced defaults of the module doc. */
export const DEFAULT_THRESHOLDS: IdsThresholds = {
  auth: { count: 5, windowNs: 10e9 },
  trw: { theta0: 0.8, theta1: 0.2, alpha: 0.01, beta: 0.99 },
  scan: { distinctPorts: 15, distinctHosts: 25, windowNs: 300e9 },
  flood: { count: 100, windowNs: 1e9 },
  volume: { factor: 10, windowNs: 1e9, minBytes: 1e6 },
};

export interface IdsOptions {
  thresholds?: Partial<IdsThresholds>;
  /** Expected rate per application, bits/s (its profile's bandwidth), for the volume detector. */
  profiles?: Readonly<Record<string, number>>;
  /** Sources never detected (e.g. the operator's own probes). */
  trusted?: readonly string[];
}

/** Per-source state: the windows' events and the random walk. */
interface SourceState {
  refused: number[];
  all: number[];
  contacts: { timeNs: number; key: string; dst: string }[];
  firstContacts: Set<string>;
  ratio: number;
  volume: { timeNs: number; bytes: number; application: string }[];
}

export class IntrusionDetector {
  readonly thresholds: IdsThresholds;
  readonly detections: Detection[] = [];
  /** Events of detected sources seen after their detection. */
  afterBlock = 0;
  private readonly sources = new Map<string, SourceState>();
  private readonly detected = new Set<string>();
  private readonly trusted: ReadonlySet<string>;
  private readonly eta1: number;
  private readonly eta0: number;

  constructor(private readonly opts: IdsOptions = {}) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    checkThresholds(this.thresholds);
    const { alpha, beta } = this.thresholds.trw;
    this.eta1 = beta / alpha;
    this.eta0 = (1 - beta) / (1 - alpha);
    this.trusted = new Set(opts.trusted ?? []);
  }

  /** Whether the workload `identity` (default {@link UNAUTHENTICATED}) of node `src` was detected. */
  isDetected(src: string, identity: string = UNAUTHENTICATED): boolean {
    return this.detected.has(sourceKey(src, identity));
  }

  /**
   * Feeds one event (events must come in non-decreasing time per source); returns the detection it triggers, if
   * any. @throws RangeError for a negative or non-integer time.
   */
  observe(ev: ConnectionEvent): Detection | null {
    if (!Number.isSafeInteger(ev.timeNs) || ev.timeNs < 0) {
      throw new RangeError(`IntrusionDetector.observe: timeNs must be an integer >= 0, got ${ev.timeNs}`);
    }
    if (this.trusted.has(ev.src)) return null;
    const identity = identityOf(ev);
    const key = sourceKey(ev.src, identity);
    if (this.detected.has(key)) {
      this.afterBlock++;
      return null;
    }
    const s = this.state(key);
    const found =
      this.flood(s, ev) ?? this.unauthenticated(s, ev) ?? this.scan(s, ev) ?? this.volumeOff(s, ev);
    if (!found) return null;
    const d: Detection = { timeNs: ev.timeNs, src: ev.src, identity, kind: found.kind, reason: found.reason };
    this.detected.add(key);
    this.sources.delete(key);
    this.detections.push(d);
    return d;
  }

  private state(key: string): SourceState {
    let s = this.sources.get(key);
    if (!s) {
      s = { refused: [], all: [], contacts: [], firstContacts: new Set(), ratio: 1, volume: [] };
      this.sources.set(key, s);
    }
    return s;
  }

  private flood(s: SourceState, ev: ConnectionEvent): Finding | null {
    const { count, windowNs } = this.thresholds.flood;
    slide(s.all, ev.timeNs - windowNs);
    s.all.push(ev.timeNs);
    if (s.all.length < count) return null;
    return {
      kind: "flood",
      reason: `${s.all.length} connections within ${windowNs / 1e9} s (threshold ${count})`,
    };
  }

  private unauthenticated(s: SourceState, ev: ConnectionEvent): Finding | null {
    if (ev.outcome !== "refused-auth" && ev.outcome !== "refused-policy") return null;
    const { count, windowNs } = this.thresholds.auth;
    slide(s.refused, ev.timeNs - windowNs);
    s.refused.push(ev.timeNs);
    if (s.refused.length < count) return null;
    return {
      kind: "unauthenticated",
      reason: `${s.refused.length} refused connections (last: ${ev.outcome}) within ${windowNs / 1e9} s (threshold ${count})`,
    };
  }

  private scan(s: SourceState, ev: ConnectionEvent): Finding | null {
    const key = `${ev.dst}:${ev.port}`;
    const { theta0, theta1 } = this.thresholds.trw;
    if (!s.firstContacts.has(key)) {
      s.firstContacts.add(key);
      s.ratio *= ev.outcome === "accepted" ? theta1 / theta0 : (1 - theta1) / (1 - theta0);
      if (s.ratio >= this.eta1) {
        return {
          kind: "port-scan",
          reason: `threshold random walk: likelihood ratio ${s.ratio.toFixed(1)} >= ${this.eta1.toFixed(1)} after ${s.firstContacts.size} first contacts`,
        };
      }
      if (s.ratio <= this.eta0) s.ratio = 1; // benign: the walk restarts
    }
    const { distinctPorts, distinctHosts, windowNs } = this.thresholds.scan;
    while (s.contacts.length > 0 && s.contacts[0]!.timeNs < ev.timeNs - windowNs) s.contacts.shift();
    if (ev.outcome === "accepted") return null;
    s.contacts.push({ timeNs: ev.timeNs, key, dst: ev.dst });
    const ports = new Set(s.contacts.filter((c) => c.dst === ev.dst).map((c) => c.key)).size;
    const hosts = new Set(s.contacts.map((c) => c.dst)).size;
    if (ports < distinctPorts && hosts < distinctHosts) return null;
    return {
      kind: "port-scan",
      reason: `${ports} ports of ${ev.dst} / ${hosts} hosts failed within ${windowNs / 1e9} s (thresholds ${distinctPorts} / ${distinctHosts})`,
    };
  }

  private volumeOff(s: SourceState, ev: ConnectionEvent): Finding | null {
    const app = ev.application;
    const profile = app === undefined ? undefined : this.opts.profiles?.[app];
    if (ev.outcome !== "accepted" || app === undefined || profile === undefined || !ev.bytes) return null;
    const { factor, windowNs, minBytes } = this.thresholds.volume;
    while (s.volume.length > 0 && s.volume[0]!.timeNs < ev.timeNs - windowNs) s.volume.shift();
    s.volume.push({ timeNs: ev.timeNs, bytes: ev.bytes, application: app });
    const bytes = s.volume.filter((v) => v.application === app).reduce((a, v) => a + v.bytes, 0);
    const allowed = (factor * profile * windowNs) / 8e9;
    if (bytes < minBytes || bytes <= allowed) return null;
    return {
      kind: "volume",
      reason: `${bytes} bytes to ${app} within ${windowNs / 1e9} s, over ${factor} x its profile (${Math.round(allowed)} bytes)`,
    };
  }
}

/** Drops window entries older than `fromNs` (the array is in time order). */
function slide(times: number[], fromNs: number): void {
  let k = 0;
  while (k < times.length && times[k]! < fromNs) k++;
  if (k > 0) times.splice(0, k);
}

function checkThresholds(t: IdsThresholds): void {
  const positive: [string, number][] = [
    ["auth.count", t.auth.count],
    ["auth.windowNs", t.auth.windowNs],
    ["scan.distinctPorts", t.scan.distinctPorts],
    ["scan.distinctHosts", t.scan.distinctHosts],
    ["scan.windowNs", t.scan.windowNs],
    ["flood.count", t.flood.count],
    ["flood.windowNs", t.flood.windowNs],
    ["volume.factor", t.volume.factor],
    ["volume.windowNs", t.volume.windowNs],
  ];
  for (const [name, v] of positive) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new RangeError(`IDS threshold ${name}: expected > 0, got ${v}`);
  }
  const { theta0, theta1, alpha, beta } = t.trw;
  if (!(0 < theta1 && theta1 < theta0 && theta0 < 1)) {
    throw new RangeError(
      `IDS threshold trw: expected 0 < theta1 < theta0 < 1, got theta0 ${theta0}, theta1 ${theta1}`,
    );
  }
  if (!(0 < alpha && alpha < beta && beta < 1)) {
    throw new RangeError(
      `IDS threshold trw: expected 0 < alpha < beta < 1, got alpha ${alpha}, beta ${beta}`,
    );
  }
}
