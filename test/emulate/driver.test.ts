/**
 * The control driver in the emulator (root): failures, convergence delay, failure hooks and time to recover for a
 * static baseline and a control-loop policy, on namespaces. One long flow n0 -> n1 runs across the failure of its
 * link, so which pair the failure hits does not depend on how busy the machine is; times are the driver's (ticks of
 * the 100 ms sampling interval, in simulated ns). The flow's ACKs come back n1 -> n0: a pair recovers once both ways
 * are off the failed link (emulate/emulation-data-plane.ts).
 *
 *   n0 --- n1
 *   |       |        4-node ring, 1 Gbit/s and 2 ms, emulated at 50 Mbit/s (rateScale 0.05);
 *   n3 --- n2        n0-n1 fails at 200 ms; default routes reconverge 100 ms later
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emulatePolicy } from "../../emulate/engine.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings } from "../../experiments/emulate-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import type { Policy } from "../../models/policies/types.ts";
import type { EnginePolicy } from "../../sim/engine/types.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const RING = `name: ring-driver
seed: 4
topology: {generator: {kind: ring, n: 4}, links: {capacity: 1Gbps, delay: 2ms}}
workload: {tm: {kind: uniform}, window: {duration: 1s}, load: {targetMlu: 0.1, reference: hops}}
policies: [{name: shortest-path, params: {weight: hops}}]
failures: [{at: 200ms, link: n0->n1, state: down}]
control: {interval: 100ms, convergenceDelay: 100ms}
metrics: {interval: 100ms}
emulation: {rateScale: 0.05, drain: 30s}
`;

const MS = 1_000_000;
const dir = mkdtempSync(join(tmpdir(), "topocast-driver-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Moves the pair onto the other way round the ring as soon as its link fails: both ways (`both`), or only its own
 * direction, which leaves its ACKs n1 -> n0 on the failed link until the default routes reconverge.
 */
function failover(both: boolean): Policy {
  return {
    name: "failover",
    decide() {},
    async onLinkDown(link, _obs, ctl) {
      if (link !== "n0->n1") return;
      await ctl.setRoute({ src: "n0", dst: "n1" }, ["n0", "n3", "n2", "n1"]);
      if (both) await ctl.setRoute({ src: "n1", dst: "n0" }, ["n1", "n2", "n3", "n0"]);
    },
  };
}

describe("the control driver in the emulator", async () => {
  const skip = await needs(["veth", "htb"]);
  const loaded = parseConfig(RING, join(dir, "ring.yaml"), dir);
  const { scenario } = buildScenario(loaded, 0);
  const settings = emulationSettings(loaded.config);
  const n0 = scenario.topology.node("n0");
  const n1 = scenario.topology.node("n1");
  // 250 MB simulated = 12.5 MB emulated: 2 s at 50 Mbit/s (never faster), so the flow runs across the failure at
  // 200 ms and the recovery a tick or so later, whatever the machine's load.
  const flows = [{ id: 0, src: n0, dst: n1, sizeBytes: 2.5e8, startNs: 0, tag: 0, application: "tm" }];
  const staticBaseline = scenario.policies[0]!;
  const controlLoop = (both: boolean): EnginePolicy => ({
    ...staticBaseline,
    label: "failover",
    controller: () => failover(both),
  });
  const cases: { name: string; policy: EnginePolicy; recovery: (r: number) => boolean }[] = [
    {
      name: "a static baseline's pair recovers when default routes reconverge, a tick of 100 ms or so later",
      policy: staticBaseline,
      recovery: (r) => r >= 100 * MS && r <= 300 * MS,
    },
    {
      name: "a control-loop policy's failure hook, moving the pair both ways, recovers it before time moves on",
      policy: controlLoop(true),
      recovery: (r) => r === 0,
    },
    {
      name: "a hook moving only the pair's own direction recovers it when its ACKs' default routes reconverge",
      policy: controlLoop(false),
      recovery: (r) => r >= 100 * MS && r <= 300 * MS,
    },
  ];
  for (const c of cases) {
    it(c.name, { skip }, async () => {
      let runId = "";
      const r = await emulatePolicy(scenario, c.policy, flows, settings, {
        capabilities: await capabilities(),
        dir,
        onUp: (up) => {
          runId = up.runId;
        },
      });
      await assertRunsGone([runId], dir);
      const recoveries = r.recoveries;
      assert.deepEqual(
        recoveries.map((x) => [x.src, x.dst, x.links]),
        [["n0", "n1", ["n0->n1", "n1->n0"]]],
      );
      assert.ok(recoveries[0]!.downNs >= 200 * MS, `failed at ${recoveries[0]!.downNs}`);
      assert.ok(c.recovery(recoveries[0]!.recoveryNs!), `recovered after ${recoveries[0]!.recoveryNs}`);
      assert.equal(r.flowCounts.completed, 1, "the flow finished over the other path");
    });
  }
});
