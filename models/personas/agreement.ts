/**
 * Whether two personas of one application, learned by different engines from the same workload (the simulator's
 * flow records and the emulator's agents' flow records, models/personas/learn.ts), agree within stated tolerances.
 *
 * What must be equal, and why it can be: the protocols, the server ports and the peers (names, critical flags,
 * ports) come from which application pairs exchanged flows in the window, and both engines start the same
 * application flows (emulate/live-applications.ts: the same workload and draws); the latency-sensitivity share
 * comes from the flows' sizes only, which are the same, so it may differ only by exchanges whose response falls
 * on the other side of the window's end ({@link AgreementTolerances.latencyShare}).
 *
 * What may differ, and by how much: the bandwidth spreads each flow's bytes over its transfer [start, end), and
 * an emulated flow takes longer than a simulated one (real TCP, agents' start lateness, the controller's steps on
 * a loaded machine), so bytes move across bin edges and past the window's end. The mean rate moves only by the
 * bytes pushed past the window's end; the p95 of the per-bin rate by the bytes moved between bins, more so when
 * bins are short against the emulator's extra delay. Counts of bytes and flows per peer move by the flows near the
 * window's end.
 */
import type { Persona } from "./profile.ts";

/** Relative (rates, counts) and absolute (shares) tolerances; see the module doc for why each is what it is. */
export interface AgreementTolerances {
  /** |a - b| / max(a, b) of the mean rate. */
  meanBps: number;
  /** |a - b| / max(a, b) of the p95 per-bin rate. */
  p95Bps: number;
  /** |a - b| of the share of small exchanges. */
  latencyShare: number;
  /** |a - b| / max(a, b) of each peer's bytes and flows. */
  peerVolume: number;
}

/**
 * The defaults, for bins of >= 1 s over windows of >= 10 s, with emulated flows up to ~200 ms longer than
 * simulated ones (measured on a loaded 2-core machine: an entry's 1 kB request ~150 ms against 3 ms, its call
 * chain ~300 ms): the mean within 10% (the flows pushed past a 10 s window's end carry ~3% of its bytes), the p95
 * within 25% (bytes of flows straddling a bin edge move to the next bin, and a busy controller bunches starts:
 * measured 2-28% on web-like small exchanges, 1-2% on 1 MB transfers), the latency share within 0.05 (sizes are
 * the same; only exchanges cut by the window's end differ), peer volumes within 10% (as the mean).
 */
export const DEFAULT_TOLERANCES: AgreementTolerances = {
  meanBps: 0.1,
  p95Bps: 0.25,
  latencyShare: 0.05,
  peerVolume: 0.1,
};

/** One disagreement: the field path, both values and the tolerance it broke ("exact" for fields that must match). */
export interface Disagreement {
  path: string;
  a: unknown;
  b: unknown;
  tolerance: number | "exact";
}

/**
 * The fields of `b` that disagree with `a` (same application) beyond `tol`, in field order; empty when they
 * agree. Relative differences of two zeros are 0.
 */
export function personaDisagreements(
  a: Persona,
  b: Persona,
  tol: AgreementTolerances = DEFAULT_TOLERANCES,
): Disagreement[] {
  const out: Disagreement[] = [];
  const fa = a.fingerprint;
  const fb = b.fingerprint;
  const exact = (path: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path, a: x, b: y, tolerance: "exact" });
  };
  const rel = (path: string, x: number, y: number, t: number) => {
    if (relative(x, y) > t) out.push({ path, a: x, b: y, tolerance: t });
  };
  exact("application.name", a.application.name, b.application.name);
  exact("fingerprint.protocols", fa.protocols, fb.protocols);
  exact("fingerprint.ports", fa.ports, fb.ports);
  const peerIdentity = (p: Persona) =>
    p.fingerprint.peers.map((q) => ({ app: q.app, critical: q.critical, ports: q.ports }));
  exact("fingerprint.peers", peerIdentity(a), peerIdentity(b));
  for (const [i, pa] of fa.peers.entries()) {
    const pb = fb.peers[i];
    if (pb?.app !== pa.app) continue;
    rel(`fingerprint.peers[${i}].bytes`, pa.bytes, pb.bytes, tol.peerVolume);
    rel(`fingerprint.peers[${i}].flows`, pa.flows, pb.flows, tol.peerVolume);
  }
  rel("fingerprint.bandwidth.meanBps", fa.bandwidth.meanBps, fb.bandwidth.meanBps, tol.meanBps);
  rel("fingerprint.bandwidth.p95Bps", fa.bandwidth.p95Bps, fb.bandwidth.p95Bps, tol.p95Bps);
  const sa = fa.latencySensitivity.share;
  const sb = fb.latencySensitivity.share;
  if (Math.abs(sa - sb) > tol.latencyShare)
    out.push({ path: "fingerprint.latencySensitivity.share", a: sa, b: sb, tolerance: tol.latencyShare });
  return out;
}

/** |x - y| / max(|x|, |y|), 0 when both are 0. */
function relative(x: number, y: number): number {
  const m = Math.max(Math.abs(x), Math.abs(y));
  return m === 0 ? 0 : Math.abs(x - y) / m;
}
