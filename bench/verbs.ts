/**
 * Latency of the emulator's verbs (root), wall ms over repeated calls on the square of
 * test/emulate/fixtures/square.ts (four namespaces, userspace wires where the kernel has no netem): mirror set-up
 * and removal, a firewall rule, a QoS class and its removal, and a probe (set-up plus five echoes over 4 ms of
 * path), beside one `ip` process doing nothing (`process`) and the same command as a request on a long-lived
 * channel (`channelRequest`, emulate/channels.ts), and three mirrors set at once as a decision sets them
 * (`mirrorsAtOnce`). Target (issue 13): mirror set-up median < 50 ms. `mirrorPhases`
 * splits a mirror's set-up by request (median wall ms of each kind, summed over the mirror's requests of that kind:
 * the ip batches at its nodes, the tc filters at its source, the nft scripts at both ends; they overlap). The load
 * average is recorded beside the numbers: on a busy machine starting a process costs tens of milliseconds, which
 * is why the verbs keep their `ip`/`tc`/`nft` processes open.
 */
import { loadavg } from "node:os";
import { probe } from "../emulate/capabilities.ts";
import { ChannelCommands, type VerbCommands } from "../emulate/channels.ts";
import { EmulationControlPlane } from "../emulate/control-plane.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { down, up } from "../emulate/substrate.ts";
import { square } from "../test/emulate/fixtures/square.ts";
import { latencySummary } from "./latency-summary.ts";
import type { BenchResult } from "./run.ts";

const REPEATS = 20;
/** Three mirrors set at once (`mirrorsAtOnce`). */
const DECISION: [{ src: string; dst: string }, string[]][] = [
  [{ src: "n0", dst: "n2" }, ["n0", "n1", "n2"]],
  [{ src: "n2", dst: "n0" }, ["n2", "n3", "n0"]],
  [{ src: "n1", dst: "n3" }, ["n1", "n2", "n3"]],
];

export async function run(): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "needs root (network namespaces)" };
  const runner = new ProcessRunner();
  const capabilities = await probe(runner);
  const loadBefore = loadavg()[0]!;
  const r = await up(square(), { capabilities, runner });
  const ms: Record<string, number[]> = {
    process: [],
    channelRequest: [],
    mirrorSet: [],
    mirrorRemove: [],
    mirrorsAtOnce: [],
    firewall: [],
    qosSet: [],
    qosRemove: [],
    probe: [],
  };
  const channels = new ChannelCommands();
  const phases = timedCommands(channels);
  try {
    const ctl = EmulationControlPlane.attach(r.runId, { runner, commands: phases.commands });
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
      ms.process!.push(performance.now() - t0); // one `ip` process: what each verb request cost before channels
      await timed(ms.channelRequest!, () =>
        channels.batch("ip", r.plan.nodes[0]!.netns, [["link", "show", "dev", "lo"]]),
      );
      phases.start();
      await timed(ms.mirrorSet!, () => ctl.mirror(pair, ["n0", "n1", "n2"]));
      phases.stop();
      await timed(ms.mirrorRemove!, () => ctl.mirror(pair, null));
      // A decision's mirrors issued together (as the mirroring policy does): two share their ends, one does not.
      await timed(ms.mirrorsAtOnce!, () => Promise.all(DECISION.map(([p, path]) => ctl.mirror(p, path))));
      await Promise.all(DECISION.map(([p]) => ctl.mirror(p, null)));
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
  const mirrorPhases = Object.fromEntries(
    Object.entries(phases.ms).map(([k, xs]) => [k, latencySummary(xs, 1).median]),
  );
  return {
    workload: `square (4 namespaces, ${r.plan.links[0]?.kind} links): ${REPEATS} calls of each verb, wall ms`,
    target: { mirrorSetMedianMs: 50 },
    met: (results.mirrorSet as { median: number }).median < 50,
    loadAverage: { before: loadBefore, after: loadavg()[0] },
    results,
    mirrorPhases,
  };
}

/**
 * A VerbCommands that times its requests by kind (`ip`, `tc`, `nft`) while recording: per recorded call, the summed
 * wall ms of each kind's requests.
 */
function timedCommands(inner: VerbCommands) {
  const ms: Record<string, number[]> = { ip: [], tc: [], nft: [] };
  let call: Record<string, number> | undefined;
  const time = async <T>(kind: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      if (call) call[kind] = (call[kind] ?? 0) + performance.now() - t0;
    }
  };
  const commands: VerbCommands = {
    batch: (tool, ns, cmds, o) => time(tool, () => inner.batch(tool, ns, cmds, o)),
    batchEach: (tool, ns, cmds) => time(tool, () => inner.batchEach(tool, ns, cmds)),
    nft: (ns, lines, o) => time("nft", () => inner.nft(ns, lines, o)),
    ruleCounters: (ns, family, table) => inner.ruleCounters(ns, family, table),
    stats: (tool, ns, show) => inner.stats(tool, ns, show),
    open: (ns, tools) => inner.open(ns, tools),
    close: () => inner.close(),
  };
  return {
    ms,
    commands,
    start: () => {
      call = {};
    },
    stop: () => {
      for (const [k, v] of Object.entries(call ?? {})) ms[k]?.push(v);
      call = undefined;
    },
  };
}
