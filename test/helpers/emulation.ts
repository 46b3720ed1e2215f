/**
 * Shared by the emulation tests that need root: why a test must skip (not root, or a missing kernel feature or
 * tool), one capability probe per test file, and the check that a run left nothing behind. A test looks only at
 * objects carrying its own runs' prefixes: other runs (another test file, another user's topocast) may be live on
 * the same machine at the same time.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type Capabilities, type Feature, probe, type ToolName } from "../../emulate/capabilities.ts";
import { checkRunId } from "../../emulate/names.ts";
import { statePath } from "../../emulate/run-state.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { meshDir } from "../../emulate/sidecar/run-files.ts";
import { listNamespaces, rootLinks } from "../../emulate/substrate.ts";

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

/**
 * What is left of run `runId`: its namespaces (`tc<run>-*`), interfaces with its prefix in the caller's namespace
 * (there should never be any) and its state file (in `dir`, default the run directory). Nothing of other runs.
 */
export async function leftovers(runId: string, dir?: string): Promise<string[]> {
  const runner = new ProcessRunner();
  const links = await rootLinks(runner, runId);
  const state = statePath(checkRunId(runId), dir);
  return [
    ...(await listNamespaces(runner, runId)).map((ns) => `netns ${ns}`),
    ...links.map((l) => `link ${l}`),
    ...(existsSync(state) ? [`state file ${state}`] : []),
    ...(existsSync(meshDir(runId, dir)) ? [`sidecar mesh directory ${meshDir(runId, dir)}`] : []),
  ];
}

/** Asserts that nothing of the given runs is left (see {@link leftovers}); looks at no other run's objects. */
export async function assertRunsGone(runIds: readonly string[], dir?: string): Promise<void> {
  assert.ok(runIds.length > 0, "assertRunsGone needs the run ids to look at");
  const left = (await Promise.all(runIds.map((id) => leftovers(id, dir)))).flat();
  assert.deepEqual(left, [], `left behind: ${left.join(", ")}`);
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
