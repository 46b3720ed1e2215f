import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IntentRouting } from "../../../models/policies/intent-routing.ts";
import { NearestInstance } from "../../../models/policies/nearest-instance.ts";
import type { Policy } from "../../../models/policies/types.ts";
import { LastValuePredictor } from "../../../models/predictors/last-value.ts";
import { ATTACHMENT_CAPACITY_BPS, resolveMesh } from "../../../models/services/intent-mesh.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { MB, MS, setup } from "../../sim/control/fixture.ts";

/**
 * Two instances of service x behind its anycast node; 1 Gbit/s links.
 *
 *   u --.
 *        a -- i1 ==.          c-a, a-i1: 1 ms, insecure
 *   c --'            svc-x    c-b, b-i2: 3 ms, secure
 *    \   b -- i2 =='          == : attachment links (0 ms, secure)
 *     `-'
 */
function meshTopology() {
  const att = { delayNs: 0, capacityBps: ATTACHMENT_CAPACITY_BPS, secure: true };
  return new TopologyBuilder("mesh", "test", { capacityBps: 1e9 })
    .addNode({ id: "c" })
    .addNode({ id: "u" })
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addNode({ id: "i1" })
    .addNode({ id: "i2" })
    .addNode({ id: "svc-x" })
    .addLink("c", "a", { delayNs: 1 * MS })
    .addLink("u", "a", { delayNs: 1 * MS })
    .addLink("a", "i1", { delayNs: 1 * MS })
    .addLink("c", "b", { delayNs: 3 * MS, secure: true })
    .addLink("b", "i2", { delayNs: 3 * MS, secure: true })
    .addLink("i1", "svc-x", att, false)
    .addLink("i2", "svc-x", att, false)
    .build();
}

const mesh = (intent: string) =>
  resolveMesh({
    services: [{ name: "x", instances: ["i1", "i2"] }],
    clients: [{ node: "c", intent, requestsPerSecond: 1, requestSize: "1KB" }],
    links: [],
  });

const SHORT = ["c", "a", "i1", "svc-x"];
const SECURE = ["c", "b", "i2", "svc-x"];

async function routeAfter(policy: (linkCount: number) => Policy, busy: boolean): Promise<readonly string[]> {
  const c = setup({}, meshTopology());
  // u sends a long bulk flow to i1 over a->i1: that link is then busy.
  if (busy) c.sim.schedule(0, () => c.start("u", "i1", 1000 * MB));
  await c.loop(policy(c.topo.linkCount), { endNs: 40 * MS }).run();
  return c.ctl.routes().get("c->svc-x") ?? [];
}

describe("intent routing picks the instance and path the intent asks for", () => {
  const cases = [
    { intent: "service=x, latency<5ms", busy: false, want: SHORT, why: "latency-bound: the short path" },
    { intent: "service=x, secure", busy: false, want: SECURE, why: "secure-only: the secure instance" },
    {
      intent: "service=x, bandwidth>500Mbps",
      busy: true,
      want: SECURE,
      why: "bandwidth-bound: the idle instance when the near one's link is busy",
    },
  ];
  for (const k of cases) {
    it(k.why, async () => {
      const got = await routeAfter(
        (n) => new IntentRouting({ mesh: mesh(k.intent), predictor: new LastValuePredictor(n) }),
        k.busy,
      );
      assert.deepEqual(got, k.want);
    });
  }

  it("nearest-instance ignores the intent: the secure-only client goes to the nearest instance", async () => {
    const got = await routeAfter(() => new NearestInstance(mesh("service=x, secure")), false);
    assert.deepEqual(got, SHORT);
  });
});

describe("intent routing with circuits", () => {
  const cases = [
    {
      headroom: 0.5,
      circuit: [["c", "svc-x", SECURE, 750e6]],
      route: [],
      why: "gives the bandwidth-bound client a circuit reserving 1.5 x its bound on the chosen path",
    },
    {
      headroom: 2,
      circuit: [],
      route: SECURE,
      why: "pins the route instead when the reservation (1.5 Gbit/s) does not fit the 1 Gbit/s links",
    },
  ];
  for (const k of cases) {
    it(k.why, async () => {
      const c = setup({}, meshTopology());
      c.sim.schedule(0, () => c.start("u", "i1", 1000 * MB));
      const policy = new IntentRouting({
        mesh: mesh("service=x, bandwidth>500Mbps"),
        predictor: new LastValuePredictor(c.topo.linkCount),
        circuits: true,
        circuitHeadroom: k.headroom,
      });
      await c.loop(policy, { endNs: 40 * MS }).run();
      assert.deepEqual(
        c.ctl.virtualLinks().map((v) => [v.src, v.dst, v.path, v.rateBps]),
        k.circuit,
      );
      assert.deepEqual(c.ctl.routes().get("c->svc-x") ?? [], k.route);
    });
  }
});
