import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LinkStats, NodePath } from "../../../models/policies/types.ts";
import type { Intent } from "../../../models/services/intent.ts";
import {
  type CostedPath,
  cheapest,
  choosePath,
  costPaths,
  linkViews,
  PathHysteresis,
  predictPath,
} from "../../../models/services/path-cost.ts";

const MS = 1_000_000;

/**
 * Three paths from c to i, each link 1 Gbit/s unless said:
 *
 *   c -- a -- i      short:  2 x 1 ms, insecure, free, busy (80%)
 *   c -- b -- i      secure: 2 x 3 ms, secure, free, idle
 *   c -- d -- i      cheap:  2 x 2 ms, insecure, egress 0 (others 0.05/GB when `priced`), idle
 */
function links(opts: { busyShort?: boolean; priced?: boolean } = {}): LinkStats[] {
  const out: LinkStats[] = [];
  const add = (src: string, dst: string, delayMs: number, secure: boolean, util: number, cost: number) => {
    for (const [a, b] of [
      [src, dst],
      [dst, src],
    ] as const) {
      out.push({
        id: `${a}->${b}`,
        src: a,
        dst: b,
        up: true,
        capacityBps: 1e9,
        utilization: util,
        delayNs: delayMs * MS,
        secure,
        egressCostPerGB: cost,
      });
    }
  };
  const busy = opts.busyShort === false ? 0 : 0.8;
  const price = opts.priced ? 0.05 : 0;
  add("c", "a", 1, false, busy, price);
  add("a", "i", 1, false, busy, price);
  add("c", "b", 3, true, 0, price);
  add("b", "i", 3, true, 0, price);
  add("c", "d", 2, false, 0, 0);
  add("d", "i", 2, false, 0, 0);
  return out.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

const SHORT: NodePath = ["c", "a", "i"];
const SECURE: NodePath = ["c", "b", "i"];
const CHEAP: NodePath = ["c", "d", "i"];
const CANDIDATES = [SHORT, CHEAP, SECURE];

describe("the intent cost model picks the path the intent asks for", () => {
  const cases: {
    name: string;
    intent: Intent;
    links: LinkStats[];
    candidates?: NodePath[];
    want: NodePath | null;
    meets: boolean;
  }[] = [
    {
      name: "a latency bound picks the short path",
      intent: { service: "s", maxLatencyNs: 2.5 * MS },
      links: links({ busyShort: false }),
      want: SHORT,
      meets: true,
    },
    {
      name: "a bandwidth floor picks an idle path over the busy short one",
      intent: { service: "s", minBandwidthBps: 500e6 },
      links: links(),
      candidates: [SHORT, CHEAP],
      want: CHEAP,
      meets: true,
    },
    {
      name: "secure-only takes the secure path although it is longest",
      intent: { service: "s", secure: true },
      links: links({ busyShort: false }),
      want: SECURE,
      meets: true,
    },
    {
      name: "a cost ceiling picks the cheap path",
      intent: { service: "s", maxCostPerGB: 0.01 },
      links: links({ busyShort: false, priced: true }),
      want: CHEAP,
      meets: true,
    },
    {
      name: "an unreachable latency bound still gets the best path, marked unmet",
      intent: { service: "s", maxLatencyNs: 1 * MS },
      links: links({ busyShort: false }),
      want: SHORT,
      meets: false,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = choosePath(c.intent, c.candidates ?? CANDIDATES, linkViews(c.links), { hopLimit: 4 });
      assert.deepEqual(got?.prediction.path, c.want);
      assert.equal(got?.meets, c.meets);
    });
  }

  test("secure-only refuses when every path has an insecure link", () => {
    const ls = links().map((l) => ({ ...l, secure: false }));
    assert.equal(
      choosePath({ service: "s", secure: true }, CANDIDATES, linkViews(ls), { hopLimit: 4 }),
      null,
    );
  });

  test("a path over a down link or over the hop limit is no candidate", () => {
    const ls = links({ busyShort: false }).map((l) => (l.id === "a->i" ? { ...l, up: false } : l));
    const costed = costPaths({ service: "s" }, [...CANDIDATES, ["c", "a", "b", "d", "i"]], linkViews(ls), {
      hopLimit: 2,
    });
    assert.deepEqual(
      costed.map((c) => c.prediction.path),
      [CHEAP, SECURE],
    );
  });

  test("the forecast, not the last measurement, decides the available bandwidth", () => {
    const ls = links();
    // Forecast: the short path becomes idle, the cheap one busy.
    const forecast = ls.map((l) => (l.src === "d" || l.dst === "d" ? 0.9 : 0));
    const got = choosePath(
      { service: "s", minBandwidthBps: 500e6 },
      [SHORT, CHEAP],
      linkViews(ls, forecast),
      {
        hopLimit: 4,
      },
    );
    assert.deepEqual(got?.prediction.path, SHORT);
  });
});

describe("path predictions", () => {
  test("sum delays and egress costs, take the bottleneck of free capacity, and add queueing", () => {
    const p = predictPath(SHORT, linkViews(links({ priced: true })))!;
    assert.equal(p.hops, 2);
    assert.equal(p.secure, false);
    assert.ok(Math.abs(p.costPerGB - 0.1) < 1e-12);
    assert.ok(Math.abs(p.bandwidthBps - 200e6) < 1);
    // 2 ms propagation plus M/M/1 waiting of a 1500-byte packet at 80%: 12 us x 4 per link.
    assert.equal(p.latencyNs, 2 * MS + 2 * 48_000);
  });

  test("a probe's RTT raises the latency above the model, never lowers it", () => {
    const views = linkViews(links({ busyShort: false }));
    assert.equal(predictPath(SHORT, views, 10 * MS)!.latencyNs, 5 * MS);
    assert.equal(predictPath(SHORT, views, 1 * MS)!.latencyNs, 2 * MS);
  });
});

describe("hysteresis", () => {
  const costed = (id: string, cost: number, meets = true): CostedPath & { id: string } => ({
    id,
    cost,
    meets,
    prediction: { path: id.split(","), hops: 1, latencyNs: 0, bandwidthBps: 1, secure: true, costPerGB: 0 },
  });

  test("costs that alternate by less than the margin never flap the choice", () => {
    const h = new PathHysteresis({ margin: 0.1, holdIntervals: 3 });
    const chosen: string[] = [];
    for (let k = 0; k < 10; k++) {
      const a = costed("a", k % 2 === 0 ? 1 : 1.05);
      const b = costed("b", k % 2 === 0 ? 1.05 : 1);
      chosen.push(h.decide("x", [a, b], cheapest([a, b]) as CostedPath & { id: string })!);
    }
    assert.deepEqual(new Set(chosen), new Set(["a"]));
  });

  test("a big improvement that holds for fewer than N intervals does not switch; one that holds N does", () => {
    const h = new PathHysteresis({ margin: 0.1, holdIntervals: 3 });
    const step = (bCost: number) => {
      const a = costed("a", 1);
      const b = costed("b", bCost);
      return h.decide("x", [a, b], cheapest([a, b]) as CostedPath & { id: string });
    };
    assert.deepEqual([step(2), step(0.5), step(0.5), step(2)], ["a", "a", "a", "a"]);
    assert.deepEqual([step(0.5), step(0.5), step(0.5)], ["a", "a", "b"]);
  });

  test("a current path that is gone or misses the intent is left at once", () => {
    const h = new PathHysteresis({ margin: 0.1, holdIntervals: 5 });
    const a = costed("a", 1);
    assert.equal(h.decide("x", [a], a), "a");
    const b = costed("b", 0.99);
    assert.equal(h.decide("x", [b], b), "b");
    const aMiss = costed("a", 0.5);
    const bMiss = costed("b", 0.99, false);
    assert.equal(h.decide("x", [aMiss, bMiss], aMiss), "a");
  });
});
