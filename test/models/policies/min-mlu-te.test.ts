/**
 * Min-MLU TE (models/policies/min-mlu-te.ts) on the diamond of test/sim/control/fixture.ts (s-a-t and s-b-t,
 * 1 Gbit/s, 10 ms control interval) with an oracle forecast: the LP optimum it records, and how it pins pairs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MinMluTe } from "../../../models/policies/min-mlu-te.ts";
import { MB, MS, setup } from "../../sim/control/fixture.ts";
import { oracle } from "./oracle-fixture.ts";

const middle = (path: readonly string[] | undefined) => path?.find((n) => n === "a" || n === "b");

describe("min-MLU TE", () => {
  const cases = [
    {
      name: "two 480 Mbit/s pairs sharing s->t go one on each path (LP optimum 0.48)",
      bytes: { "s->t": 0.6 * MB, "u->v": 0.6 * MB },
      failures: [] as { at: number; up: boolean }[],
      bound: 0.48,
      spread: true,
    },
    {
      name: "with s-a down, both take the detour and the optimum is the detour's load (0.96)",
      bytes: { "s->t": 0.6 * MB, "u->v": 0.6 * MB },
      failures: [{ at: 1 * MS, up: false }],
      bound: 0.96,
      spread: false,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const f = setup();
      const policy = new MinMluTe({ predictor: oracle(c.bytes) });
      const sa = [f.l("s->a"), f.l("a->s")];
      await f
        .loop(policy, {
          endNs: 25 * MS,
          failures: c.failures.map((x) => ({ atNs: x.at, links: sa, up: x.up })),
        })
        .run();
      assert.ok(policy.lastBound.length > 0, "it decided");
      assert.ok(Math.abs(policy.lastBound.at(-1)! - c.bound) < 1e-6, `bound ${policy.lastBound.at(-1)}`);
      const routes = f.ctl.routes();
      const mids = ["s->t", "u->v"].map((k) =>
        middle(routes.get(k) ?? f.ctl.defaultPath(...(k.split("->") as [string, string])) ?? undefined),
      );
      if (c.spread) assert.deepEqual([...mids].sort(), ["a", "b"]);
      else assert.deepEqual(mids, ["b", "b"]);
    });
  }
});
