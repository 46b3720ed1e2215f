/**
 * Egress cost from link samples (summary.json `egress`) and from links.csv rows (sim-vs-emulation), on a 3-node
 * line whose links all cost 0.02 per GB (a line of gateways) and on one without costs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { egressCost, egressCostOfRows, egressCostPerGB } from "../../experiments/egress-cost.ts";
import type { LinkSamples } from "../../sim/metrics/link-sampler.ts";
import { line } from "../../sim/substrate/generators.ts";

const costed = line(3, { egressCostPerGB: 0.02 });
const free = line(3);

/** Two intervals of 100 ms; link 0 carries 8e9 bits (1 GB) in the first and 8e9 in the second, link 2 4e9 in the second. */
function samples(linkCount: number): LinkSamples {
  const bits = new Float64Array(2 * linkCount);
  bits[0] = 8e9;
  bits[linkCount] = 8e9;
  bits[linkCount + 2] = 4e9;
  return {
    linkCount,
    startNs: Float64Array.from([0, 1e8]),
    endNs: Float64Array.from([1e8, 2e8]),
    bits,
    capacityFrom: [0],
    capacityBps: [new Float64Array(linkCount).fill(1e9)],
  };
}

describe("egress cost", () => {
  const cases = [
    { name: "all intervals", untilNs: undefined, bytes: 2.5e9, cost: 0.05 },
    { name: "the intervals ending by 100 ms", untilNs: 1e8, bytes: 1e9, cost: 0.02 },
  ];
  for (const c of cases) {
    it(`bytes over costed links times their cost, ${c.name}, from samples and from links.csv rows alike`, () => {
      const s = samples(costed.linkCount);
      const fromSamples = egressCost(costed, s, c.untilNs)!;
      assert.equal(fromSamples.bytes, c.bytes);
      assert.ok(Math.abs(fromSamples.cost - c.cost) < 1e-12, `cost ${fromSamples.cost}`);
      const rows = [0, 1].flatMap((i) =>
        costed.links.map((l, k) => ({
          policy: "p",
          interval_end_ns: String(s.endNs[i]),
          link: l.id,
          bits: String(s.bits[i * costed.linkCount + k]),
        })),
      );
      const fromRows = egressCostOfRows(
        rows,
        egressCostPerGB(costed),
        c.untilNs ?? Number.POSITIVE_INFINITY,
      )!;
      assert.deepEqual(fromRows, fromSamples);
    });
  }
  it("is absent for a topology without egress costs", () => {
    assert.equal(egressCost(free, samples(free.linkCount)), null);
    assert.equal(egressCostOfRows([], egressCostPerGB(free), 1e9), null);
  });
});
