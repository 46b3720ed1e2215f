/**
 * Latency of the emulator's verbs (root), wall ms over repeated calls on the square of
 * test/emulate/fixtures/square.ts (four namespaces, userspace wires where the kernel has no netem): mirror set-up
 * and removal, a firewall rule, a QoS class and its removal, and a probe (set-up plus five echoes over 4 ms of
 * path), beside one `ip` process doing nothing (`process`). Target (issue 13): mirror set-up median < 50 ms. The load
 * average is recorded beside the numbers: each verb runs a few `ip`/`tc`/`nft` processes (two in sequence for a
 * mirror, five in all), whose start-up dominates on a busy machine.
 */
import { loadavg } from "node:os";
import { probe } from "../emulate/capabilities.ts";
import { EmulationControlPlane } from "../emulate/control-plane.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { down, up } from "../emulate/substrate.ts";
import { square } from "../test/emulate/fixtures/square.ts";
import { latencySummary } from "./latency-summary.ts";
import type { BenchResult } from "./run.ts";

const REPEATS = 20;

export async function run(): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "needs root (network namespaces)" };
  const runner = new ProcessRunner();
  const capabilities = await probe(runner);
  const loadBefore = loadavg()[0]!;
  const r = await up(square(), { capabilities, runner });
  const ms: Record<string, number[]> = {
    process: [],
    mirrorSet: [],
    mirrorRemove: [],
    firewall: [],
    qosSet: [],
    qosRemove: [],
    probe: [],
  };
  try {
    const ctl = EmulationControlPlane.attach(r.runId, { runner });
    const pair = { src: "n0", dst: "n2" };
    // Wall time of one verb call (the recording decorator measures the same in runs).
    const timed = async (into: number[], call: () => Promise<unknown>) => {
      const t0 = performance.now();
      await call();
      into.push(performance.now() - t0);
    };
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      await runner.run(["ip", "-n", r.plan.nodes[0]!.netns, "-batch", "-"], { input: "link show dev lo\n" });
      ms.process!.push(performance.now() - t0); // one `ip` process: the unit every verb is made of
      await timed(ms.mirrorSet!, () => ctl.mirror(pair, ["n0", "n1", "n2"]));
      await timed(ms.mirrorRemove!, () => ctl.mirror(pair, null));
      await timed(ms.firewall!, () =>
        ctl.setFirewall({ action: i % 2 ? "allow" : "deny", src: "n0", dst: "n2" }),
      );
      await timed(ms.qosSet!, () => ctl.setQos(pair, { priority: 0, rateBps: 10e6 }));
      await timed(ms.qosRemove!, () => ctl.setQos(pair, null));
      const t = performance.now();
      await ctl.probe(["n0", "n3", "n2"]);
      await ctl.sync();
      ms.probe!.push(performance.now() - t);
    }
    ctl.close();
  } finally {
    await down(r.runId, { runner });
  }
  const results = Object.fromEntries(Object.entries(ms).map(([k, xs]) => [k, latencySummary(xs, 1)]));
  return {
    workload: `square (4 namespaces, ${r.plan.links[0]?.kind} links): ${REPEATS} calls of each verb, wall ms`,
    target: { mirrorSetMedianMs: 50 },
    met: (results.mirrorSet as { median: number }).median < 50,
    loadAverage: { before: loadBefore, after: loadavg()[0] },
    results,
  };
}
