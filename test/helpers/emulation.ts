/**
 * Shared by the emulation tests that need root: why a test must skip (not root, or a missing kernel feature or
 * tool), one capability probe per test file, and the check that a run left no namespace behind.
 */
import assert from "node:assert/strict";
import { type Capabilities, type Feature, probe, type ToolName } from "../../emulate/capabilities.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { listNamespaces } from "../../emulate/substrate.ts";

let probed: Promise<Capabilities> | undefined;

/** Capabilities of this machine, probed once per test process (only when root). */
export function capabilities(): Promise<Capabilities> {
  probed ??= probe(new ProcessRunner());
  return probed;
}

/**
 * `false` when the test can run, else the reason it skips: it needs root, and the given kernel features and
 * tools. Use as `it(name, { skip: await needs(["veth"]) }, ...)`.
 */
export async function needs(features: Feature[] = [], tools: ToolName[] = []): Promise<string | false> {
  if (process.getuid?.() !== 0) return "needs root (network namespaces)";
  const c = await capabilities();
  const f = features.filter((x) => !c.features[x]);
  if (f.length > 0)
    return `needs kernel features: ${f.join(", ")} (${f.map((x) => c.missing[x]).join("; ")})`;
  const t = tools.filter((x) => !c.tools[x]);
  if (t.length > 0) return `needs tools on PATH: ${t.join(", ")} (Debian: iputils-ping, iperf3)`;
  return false;
}

/** Asserts that no namespace of the run (or of any run following the naming scheme) is left. */
export async function assertNoNamespaces(runId?: string): Promise<void> {
  const left = await listNamespaces(new ProcessRunner(), runId);
  assert.deepEqual(left, [], `namespaces left behind: ${left.join(", ")}`);
}

/** Round-trip times (ms) in `ping` output, in order. */
export function pingTimes(stdout: string): number[] {
  return [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
