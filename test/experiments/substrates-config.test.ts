/**
 * A config of several substrates (topology.substrates, sim/substrate/compose.ts) runs like any network: two
 * substrates joined by two gateways, traffic between every pair of the composed network, so flows cross the
 * gateways; shortest path after the one gateway fails takes the other (default routes reconverge).
 *
 *     wan:n0 --- wan:n1 --- wan:n2        (1 Gbit/s, 1 ms)
 *       |                      |          gateways (10 Gbit/s, 1 ms)
 *     dc:n0 ---- dc:n1 ---- dc:n2         (1 Gbit/s, 1 ms)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { runPolicy } from "../../sim/engine/run.ts";

const CONFIG = `name: substrates
seed: 3
topology:
  links: {capacity: 1Gbps, delay: 1ms}
  substrates:
    - {name: wan, generator: {kind: line, n: 3}}
    - {name: dc, generator: {kind: line, n: 3}}
  gateways:
    - {between: ["wan:n0", "dc:n0"], capacity: 10Gbps}
    - {between: ["wan:n2", "dc:n2"], capacity: 10Gbps}
workload:
  window: {duration: 400ms}
  load: {targetMlu: 0.5}
failures:
  - {at: 100ms, link: "wan:n0->dc:n0", state: down}
control:
  convergenceDelay: 20ms
policies:
  - name: shortest-path
`;

describe("a config of several substrates", () => {
  const s = buildScenario(parseConfig(CONFIG, "substrates.yaml", "/"), 0).scenario;

  it("builds one network of both substrates and their gateways", () => {
    assert.deepEqual(
      s.topology.nodes.map((n) => n.id),
      ["dc:n0", "dc:n1", "dc:n2", "wan:n0", "wan:n1", "wan:n2"],
    );
    assert.equal(s.topology.links.length, 2 * (2 + 2 + 2));
    assert.equal(s.topology.links[s.topology.link("wan:n2->dc:n2")]!.capacityBps, 10e9);
  });

  it("carries traffic across the gateways, over the other one while the first is down", async () => {
    const r = await runPolicy(s, s.policies[0]!);
    const id = (n: number) => s.topology.nodes[n]!.id;
    const flows = [...r.flows.byFlowId()];
    const crossing = flows.filter((f) => id(f.src).split(":")[0] !== id(f.dst).split(":")[0]);
    assert.ok(crossing.length > 0, "some flows go from one substrate to the other");
    assert.deepEqual(
      flows.filter((f) => f.fctNs === null).map((f) => f.flow),
      [],
      "every flow finishes, the failed gateway's too",
    );
    const l = r.links;
    const bitsOn = (link: string, fromNs: number, toNs: number) => {
      const k = s.topology.link(link);
      let bits = 0;
      for (let i = 0; i < l.startNs.length; i++)
        if (l.startNs[i]! >= fromNs && l.endNs[i]! <= toNs) bits += l.bits[i * l.linkCount + k]!;
      return bits;
    };
    const MS = 1_000_000;
    assert.ok(bitsOn("wan:n0->dc:n0", 0, 100 * MS) > 0, "the first gateway carries traffic before it fails");
    assert.equal(bitsOn("wan:n0->dc:n0", 200 * MS, 400 * MS), 0, "and none while it is down");
    assert.ok(bitsOn("wan:n2->dc:n2", 200 * MS, 400 * MS) > 0, "the other gateway carries traffic meanwhile");
  });
});
