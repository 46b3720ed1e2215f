/**
 * experiments/personas/source-agreement.ts: the personas learned from two flow sources of one run
 * (the agents' reports and conntrack's connections), compared per application. Synthetic flows, no namespaces.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { agentFlows, sourceAgreement } from "../../../experiments/personas/source-agreement.ts";
import type { LearnFlow } from "../../../models/personas/learn.ts";
import { applicationPairs, applicationTagBase } from "../../../models/workload/applications.ts";
import { FlowStatsCollector } from "../../../sim/metrics/flow-stats.ts";
import { line } from "../../../sim/substrate/generators.ts";

const S = 1_000_000_000;
const topology = line(2, { capacityBps: 1e9, delayNs: 1_000_000 });
const applications = {
  apps: [{ name: "files", instances: ["n1"], port: 9100 }],
  calls: [],
  entries: [{ app: "files", ratePerSec: 1, clients: ["n0"], requestBytes: 500, responseBytes: 1e6 }],
};
const pairs = applicationPairs(applications);
const tag = (p: string) => applicationTagBase(2) + pairs.indexOf(p);
/** One exchange per second: a 500-byte request, then a response of `bytes` over 100 ms. */
const exchanges = (bytes: number, shiftNs = 0): LearnFlow[] =>
  Array.from({ length: 10 }, (_, k) => [
    {
      src: 0,
      dst: 1,
      sizeBytes: 500,
      startNs: k * S + shiftNs,
      endNs: k * S + shiftNs + 1e6,
      tag: tag("client->files"),
    },
    {
      src: 1,
      dst: 0,
      sizeBytes: bytes,
      startNs: k * S + shiftNs + 1e6,
      endNs: k * S + shiftNs + 1e8,
      tag: tag("files->client"),
    },
  ]).flat();

describe("personas of two flow sources of one run", () => {
  const cases = [
    { what: "the same flows: no gap", conntrack: exchanges(1e6), want: { mean: 0, bytes: 0 } },
    {
      what: "10% more response bytes (retransmissions counted): mean and bytes ~+10%",
      conntrack: exchanges(1.1e6),
      want: { mean: 0.1, bytes: 0.1 },
    },
    {
      what: "every flow 1.5 s later (late starts): the last exchange falls out of a 10 s window",
      conntrack: exchanges(1e6, 1.5 * S),
      want: { mean: -0.1, bytes: -0.1 },
    },
  ];
  for (const c of cases)
    it(c.what, () => {
      const [g] = sourceAgreement(
        { agents: exchanges(1e6), conntrack: c.conntrack },
        { applications, topology },
        { startNs: 0, endNs: 10 * S },
        S,
      );
      assert.ok(g);
      assert.equal(g.application, "files");
      assert.ok(Math.abs(g.meanGap - c.want.mean) < 0.002, `mean gap ${g.meanGap}`);
      assert.ok(Math.abs(g.bytesGap - c.want.bytes) < 0.002, `bytes gap ${g.bytesGap}`);
      assert.ok(g.agents.meanBps > 0);
    });
});

describe("the agents' flows at their actual starts", () => {
  // The agents' records: scheduled starts, ends when the last byte arrived; each flow started 1.5 s late (the agent's
  // lateness), as conntrack saw it. Windowed on the schedule they disagree (the case above); on actual starts not.
  const late = exchanges(1e6, 1.5 * S);
  const table = new FlowStatsCollector();
  for (const [i, f] of exchanges(1e6).entries())
    table.add({ ...f, flow: i, fctNs: late[i]!.endNs - f.startNs, idealFctNs: 1, slowdown: 1, path: [] });
  const cases = [
    {
      what: "on their scheduled starts (no actual starts known): gaps of 5% and more",
      starts: undefined,
      agree: false,
    },
    {
      what: "on their actual starts: the same window as conntrack's",
      starts: new Map(late.map((f, i) => [i, f.startNs])),
      agree: true,
    },
  ];
  for (const c of cases)
    it(c.what, () => {
      const agents = agentFlows({ flows: table, ...(c.starts ? { actualStartsNs: c.starts } : {}) });
      assert.deepEqual(
        agents.map((f) => f.endNs),
        late.map((f) => f.endNs),
        "ends stay",
      );
      const [g] = sourceAgreement(
        { agents, conntrack: late },
        { applications, topology },
        { startNs: 0, endNs: 10 * S },
        S,
      );
      const gaps = [g!.meanGap, g!.p95Gap, g!.bytesGap].map(Math.abs);
      if (c.agree) assert.ok(Math.max(...gaps) < 0.002, `gaps ${gaps}`);
      else assert.ok(Math.max(...gaps) > 0.05, `gaps ${gaps}`);
    });
});
