/**
 * `transport.model: packet` through a whole run: the same config layout, policies and results files as the fluid
 * model (flows.csv, links.csv, summary.json), byte for byte the same on a second run, and policies whose verbs the
 * packet model lacks refused before the run, naming the field.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { runExperiment } from "../../experiments/run-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-packet-run-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, policies: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
seed: 3
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 100Mbps, delay: 1ms}
workload:
  tm: {kind: uniform}
  window: {duration: 1s}
  load: {targetMlu: 0.5, reference: hops}
policies:
${policies}
failures:
  - {at: 300ms, link: n0->n1, state: down}
  - {at: 600ms, link: n0->n1, state: up}
metrics:
  interval: 50ms
transport:
  model: packet
`,
  );
  return file;
}

describe("a run with the packet model", () => {
  it("writes the fluid model's results layout, the same bytes on a second run", async () => {
    const file = config("packet-run", "  - name: shortest-path\n  - name: ecmp");
    const a = await runExperiment(loadConfig(file), { out: join(dir, "a"), report: false });
    await runExperiment(loadConfig(file), { out: join(dir, "b"), report: false });
    assert.equal(a.summary.policies.length, 2);
    for (const f of ["summary.json", "flows.csv", "links.csv", "timeseries.csv"]) {
      const x = readFileSync(join(dir, "a", f), "utf8");
      assert.ok(x.length > 0, f);
      assert.equal(x, readFileSync(join(dir, "b", f), "utf8"), `${f} differs between two runs`);
    }
    const flows = readFileSync(join(dir, "a", "flows.csv"), "utf8")
      .trim()
      .split("\n");
    assert.ok(flows.length > 10, `${flows.length - 1} flow rows`);
  });

  it("refuses a policy that mirrors, naming the policy, the verb and the model", async () => {
    const file = config("packet-mirroring", "  - name: mirroring");
    await assert.rejects(
      runExperiment(loadConfig(file), { out: join(dir, "m"), report: false }),
      /policies\[0\]\.name: policy mirroring calls mirror, which the simulator's packet transport cannot do/,
    );
  });

  it("passes transport.sack to the model: absent = the model's default (on, as Linux), false = NewReno's recovery", () => {
    const file = config("packet-sack", "  - name: shortest-path");
    assert.equal(buildScenario(loadConfig(file), 0).scenario.transport.sack, undefined);
    const off = loadConfig(file, { set: ["transport.sack=false"] });
    assert.equal(buildScenario(off, 0).scenario.transport.sack, false);
  });
});
