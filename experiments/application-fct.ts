/**
 * FCT per application in summary.json (`policies[i].applications`), for configs with `workload.applications`: what
 * the persona targets are stated in (issue 14: latency-critical applications' p99 FCT, bulk throughput).
 *
 * An application pair `"A->B"` (models/workload/applications.ts: A's requests to B and B's responses; `client`
 * for an entry's clients) is read off each finished flow's tag (`applicationTagBase` + pair index, by the profiler's
 * `tagClassifier`); an application's flows are those of every pair naming
 * it, as the persona policy measures it (models/policies/persona.ts). Per pair and per application: finished flows,
 * FCT mean and nearest-rank p50/p95/p99/max (ns), and its transfer rate: bits of its flows over the sum of their
 * FCTs (bits/s; weighted by size, so a bulk application's rate is its large transfers').
 * Flows that never finished are not in it (`flowCounts.unfinished` counts them). Both engines: the emulator's
 * traffic agents tag the applications' flows the same way, and its records are in simulated units.
 */
import { applicationPairs, applicationTagBase } from "../models/workload/applications.ts";
import { tagClassifier } from "../models/workload/profiler.ts";
import type { RunRecords } from "../sim/engine/records.ts";
import type { Scenario } from "../sim/engine/types.ts";
import { type DistributionStats, distribution } from "../sim/metrics/flow-stats.ts";

/** One application pair's or application's finished flows. */
export interface ApplicationFctStats {
  /** `"A->B"` for a pair, `"A"` for an application. */
  name: string;
  flows: number;
  fctNs: DistributionStats | null;
  /** Sum of size x 8 over sum of FCT of its flows, bits/s; null without flows. */
  transferRateBps: number | null;
}

export interface ApplicationFct {
  pairs: ApplicationFctStats[];
  applications: ApplicationFctStats[];
}

/** The per-application FCT of one policy's run, or undefined when the scenario has no applications. */
export function applicationFct(scenario: Scenario, r: RunRecords): ApplicationFct | undefined {
  if (!scenario.applications) return undefined;
  const pairs = applicationPairs(scenario.applications);
  const pairOf = tagClassifier(pairs.length, applicationTagBase(scenario.topology.nodeCount));
  const fct = pairs.map(() => [] as number[]);
  const bits = pairs.map(() => 0);
  for (const f of r.flows.byFlowId()) {
    const i = pairOf(f);
    if (i < 0 || !(f.fctNs > 0)) continue;
    fct[i]!.push(f.fctNs);
    bits[i]! += f.sizeBytes * 8;
  }
  const stats = (name: string, idx: readonly number[]): ApplicationFctStats => {
    const all = idx.flatMap((i) => fct[i]!);
    const totalBits = idx.reduce((a, i) => a + bits[i]!, 0);
    const totalNs = [...all].sort((a, b) => a - b).reduce((a, b) => a + b, 0);
    return {
      name,
      flows: all.length,
      fctNs: distribution(Float64Array.from(all)),
      transferRateBps: all.length > 0 ? (totalBits * 1e9) / totalNs : null,
    };
  };
  const apps = [...new Set(pairs.flatMap((p) => p.split("->")))].sort();
  return {
    pairs: pairs.map((p, i) => stats(p, [i])),
    applications: apps.map((a) =>
      stats(
        a,
        pairs.flatMap((p, i) => (p.split("->").includes(a) ? [i] : [])),
      ),
    ),
  };
}
