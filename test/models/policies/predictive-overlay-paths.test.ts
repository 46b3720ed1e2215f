/**
 * Where the predictive overlay puts its virtual links (issue 18): by the load the decision expects, and again
 * when a link's path goes stale. On the diamond of test/sim/control/fixture.ts (s-a-t the short path, s-b-t the
 * detour, 1 Gbit/s, 10 ms control interval).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PredictiveOverlay } from "../../../models/policies/predictive-overlay.ts";
import { MB, MS, setup } from "../../sim/control/fixture.ts";
import { oracle } from "./oracle-fixture.ts";

function paths(c: ReturnType<typeof setup>): Record<string, string> {
  return Object.fromEntries(c.ctl.virtualLinks().map((v) => [`${v.src}->${v.dst}`, v.path.join("-")]));
}

describe("predictive overlay paths", () => {
  const repair = [
    { adaptPaths: true, expected: "s-a-t", why: "moves back once the detour is no longer needed" },
    { adaptPaths: false, expected: "s-b-t", why: "keeps the detour it was given during the failure" },
  ];
  for (const r of repair) {
    it(`with adaptPaths ${r.adaptPaths}, a link forced onto the detour by a failure ${r.why}`, async () => {
      const c = setup();
      const overlay = new PredictiveOverlay({
        predictor: oracle({ "s->t": 0.5 * MB }),
        adaptPaths: r.adaptPaths,
      });
      const sa = [c.l("s->a"), c.l("a->s")];
      const failures = [
        { atNs: 25 * MS, links: sa, up: false },
        { atNs: 55 * MS, links: sa, up: true },
      ];
      const seen: string[] = [];
      c.sim.schedule(45 * MS, () => seen.push(paths(c)["s->t"]!));
      await c.loop(overlay, { endNs: 90 * MS, failures }).run();
      assert.deepEqual(seen, ["s-b-t"], "during the failure: the detour");
      assert.deepEqual(paths(c), { "s->t": r.expected });
    });
  }

  const herding = [
    {
      adaptPaths: true,
      expected: { "s->t": "s-a-t", "u->v": "u-s-b-t-v" },
      why: "are spread over both paths",
    },
    {
      adaptPaths: false,
      expected: { "s->t": "s-a-t", "u->v": "u-s-a-t-v" },
      why: "both take the idle-looking short path",
    },
  ];
  for (const h of herding) {
    it(`with adaptPaths ${h.adaptPaths}, two pairs of 480 Mbit/s forecast placed in one decision ${h.why}`, async () => {
      const c = setup();
      const predictor = oracle({ "s->t": 0.6 * MB, "u->v": 0.6 * MB });
      const overlay = new PredictiveOverlay({ predictor, adaptPaths: h.adaptPaths });
      await c.loop(overlay, { endNs: 15 * MS }).run();
      assert.deepEqual(paths(c), h.expected);
    });
  }
});
