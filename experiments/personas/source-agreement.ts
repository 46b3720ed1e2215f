/**
 * The personas of one emulated learning run learned from two flow sources, the traffic agents' reports and the
 * connections conntrack tracked (emulate/conntrack.ts), compared per application: what conntrack alone gets right.
 * `topocast persona learn --engine emulate --source conntrack` prints it (learn-emulated.ts).
 */
import { personaDisagreements } from "../../models/personas/agreement.ts";
import { type LearnFlow, type LearnInput, learnPersonas } from "../../models/personas/learn.ts";
import type { Persona } from "../../models/personas/profile.ts";
import type { ConnectionFlows, RunRecords } from "../../sim/engine/records.ts";
import { formatRate } from "../../sim/units.ts";

/** A persona's bandwidth: mean and p95 rate (bits/s), bytes with its peers (both directions). */
export interface Bandwidth {
  meanBps: number;
  p95Bps: number;
  bytes: number;
}

/** One application's persona bandwidth from the agents' reports and from conntrack, and their relative gaps. */
export interface SourceGap {
  application: string;
  /** Mean and p95 rate (bits/s) and bytes with every peer (both directions) over the window. */
  agents: Bandwidth;
  conntrack: Bandwidth;
  /** (conntrack - agents) / agents; 0 when both are 0. */
  meanGap: number;
  p95Gap: number;
  bytesGap: number;
}

/** A relative gap as a signed percentage. */
export const percent = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
const gap = (a: number, b: number) => (a === 0 ? (b === 0 ? 0 : Number.POSITIVE_INFINITY) : (b - a) / a);

/**
 * The personas of one emulated run learned from the agents' flows and from conntrack's connection flows over the
 * same window (`binNs`: learnPersonas's default when absent), per application (config order): their mean and p95
 * rates, bytes and the gaps.
 */
export function sourceAgreement(
  flows: { agents: Iterable<LearnFlow>; conntrack: Iterable<LearnFlow> },
  run: Omit<LearnInput, "flows">,
  window: { startNs: number; endNs: number },
  binNs?: number,
): SourceGap[] {
  const learn = (f: Iterable<LearnFlow>) => learnIn(f, run, window, "emulate", binNs);
  const agents = learn(flows.agents);
  const kernel = learn(flows.conntrack);
  return agents.map((a, i) => {
    const k = kernel[i]!;
    const bw = (p: Persona): Bandwidth => ({
      meanBps: p.fingerprint.bandwidth.meanBps,
      p95Bps: p.fingerprint.bandwidth.p95Bps,
      bytes: p.fingerprint.peers.reduce((s, q) => s + q.bytes, 0),
    });
    return {
      application: a.application.name,
      agents: bw(a),
      conntrack: bw(k),
      meanGap: gap(bw(a).meanBps, bw(k).meanBps),
      p95Gap: gap(bw(a).p95Bps, bw(k).p95Bps),
      bytesGap: gap(bw(a).bytes, bw(k).bytes),
    };
  });
}

/** {@link sourceAgreement} and the connection counts as text lines. */
export function sourceAgreementLines(cx: ConnectionFlows | undefined, gaps: readonly SourceGap[]): string[] {
  return [
    cx
      ? `conntrack: ${cx.flows.length} request and response flows; application connections: ${cx.unread} unread, ${cx.unfinished} unfinished, ${cx.other} of no application, ${cx.ambiguous} ambiguous, events ${cx.eventsLost ? "LOST (ENOBUFS)" : "all read"}; ${cx.sequenced ?? 0} with bytes from sequence numbers, ${cx.answered ?? 0} with the request's end from the server's first payload`
      : "conntrack: no connections recorded",
    "conntrack vs agents (same run): mean and p95 rate, bytes with peers:",
    ...gaps.map(
      (g) =>
        `  ${g.application.padEnd(10)} mean ${formatRate(g.agents.meanBps)} -> ${formatRate(g.conntrack.meanBps)} (${percent(g.meanGap)}), p95 ${formatRate(g.agents.p95Bps)} -> ${formatRate(g.conntrack.p95Bps)} (${percent(g.p95Gap)}), bytes ${percent(g.bytesGap)}`,
    ),
  ];
}

/**
 * The agents' finished flows with their actual starts (RunRecords.actualStartsNs: scheduled start plus the agent's
 * lateness, simulated ns) as `startNs`; their ends stay (the last byte's arrival). A flow without one keeps its
 * scheduled start.
 */
export function agentFlows(records: Pick<RunRecords, "flows" | "actualStartsNs">): LearnFlow[] {
  const started = records.actualStartsNs;
  return [...records.flows.byFlowId()].map((f) => {
    const at = started?.get(f.flow);
    return at === undefined ? f : { ...f, startNs: Math.min(at, f.endNs) };
  });
}

/** The personas of `flows` over `window` (learnPersonas with a provenance naming `engine`). */
export function learnIn(
  flows: Iterable<LearnFlow>,
  run: Omit<LearnInput, "flows">,
  window: { startNs: number; endNs: number },
  engine: "sim" | "emulate",
  binNs?: number,
): Persona[] {
  return learnPersonas(
    { ...run, flows },
    {
      window,
      provenance: { engine, run: "source agreement", learnedAt: "source agreement" },
      ...(binNs === undefined ? {} : { binNs }),
    },
  );
}

/**
 * The simulator's personas against the emulator's for the same workload, per application (config order): the
 * gaps of the mean and p95 rate and bytes with peers, the share of small exchanges, the desired topology, QoS
 * priority and routing, and the fields beyond models/personas/agreement.ts's tolerances.
 */
export function engineAgreementLines(
  sim: readonly Persona[],
  emulated: readonly Persona[],
  label: string,
): string[] {
  const bytes = (p: Persona) => p.fingerprint.peers.reduce((t, q) => t + q.bytes, 0);
  return [
    `simulator vs emulator (${label}), same workload and window: mean, p95, bytes with peers, small-exchange share, desired; fields beyond the tolerances`,
    ...sim.map((a, i) => {
      const b = emulated[i]!;
      const [fa, fb] = [a.fingerprint, b.fingerprint];
      const desired = (p: Persona) => `${p.desired.topology}/p${p.desired.qos.priority}/${p.desired.routing}`;
      const off = personaDisagreements(a, b).map((d) => d.path.replace(/^fingerprint\./, ""));
      return `  ${a.application.name.padEnd(10)} mean ${formatRate(fa.bandwidth.meanBps)} -> ${formatRate(fb.bandwidth.meanBps)} (${percent(gap(fa.bandwidth.meanBps, fb.bandwidth.meanBps))}), p95 ${formatRate(fa.bandwidth.p95Bps)} -> ${formatRate(fb.bandwidth.p95Bps)} (${percent(gap(fa.bandwidth.p95Bps, fb.bandwidth.p95Bps))}), bytes ${percent(gap(bytes(a), bytes(b)))}, share ${fa.latencySensitivity.share.toFixed(2)} -> ${fb.latencySensitivity.share.toFixed(2)}, ${desired(a)} -> ${desired(b)}; beyond: ${off.length ? off.join(", ") : "none"}`;
    }),
  ];
}
