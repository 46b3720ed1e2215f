/**
 * Result check for the heavy-load fluid model (issue 17): the SHA-256 over every flow-end record (JSON, one a line,
 * in completion order) of flow-heavy's Kdl case at 3e4 and 6e4 flows and its fat-tree case at 2e4 flows (superposed
 * arrivals, seed 1), against the digests of the flow network before the issue-17 speed-ups. A change to the flow
 * network or its max-min solver that is meant to be faster, not different, must keep them.
 *
 * `npm run bench -- flow-heavy-digest`: writes results/bench/flow-heavy-digest.json (each case's digest, whether it
 * matches, CPU seconds) and exits non-zero on a mismatch. Kdl needs the shared data folder (see flow-heavy.ts).
 */
import { type CaseName, runCase } from "./flow-heavy.ts";
import type { BenchResult } from "./run.ts";

/** Digests of the flow network at main c65aafe (before the issue-17 speed-ups). */
const EXPECTED: readonly { case: CaseName; flows: number; sha256: string }[] = [
  { case: "kdl", flows: 30_000, sha256: "9c81e2546c06a6e092c54c12e432174d5cfbdf1ee558b59ac5754faa37394c66" },
  { case: "kdl", flows: 60_000, sha256: "55c4cb548f3a9e7787f67f688d9346507114b01b32ee6b8fc926e713598db0ee" },
  {
    case: "fattree",
    flows: 20_000,
    sha256: "e7b693727e88f161c6a453693f2ec9bcdc90e1d6132c75ad3a7406b1d6b8f467",
  },
];

export function run(): BenchResult {
  const cases = EXPECTED.map((e) => {
    const r = runCase(e.case, "superposed", e.flows, 1, true);
    if (typeof r.skipped === "string") return { ...e, skipped: r.skipped };
    const got = r.flowEndSha256 as string;
    return { ...e, got, matches: got === e.sha256, cpuSeconds: r.cpuSeconds };
  });
  const bad = cases.filter((c) => "matches" in c && !c.matches);
  if (bad.length) process.exitCode = 1;
  return { resultName: "flow-heavy-digest", allMatch: bad.length === 0, cases };
}
