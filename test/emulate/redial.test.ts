/**
 * The agents' redial time (emulate/traffic-agents.ts redialWallMs): three round trips of the topology's longest
 * least-delay path in wall ms, never under 50 ms, so a handshake on a working path is not dialled twice.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redialWallMs } from "../../emulate/traffic-agents.ts";
import { line } from "../../sim/substrate/generators.ts";

describe("agents' redial time", () => {
  const cases = [
    { name: "3 nodes, 10 ms links, real time: 3 x 2 x 20 ms", n: 3, delayNs: 10e6, c: 1, ms: 120 },
    { name: "the same with time dilated 4x (timeCompression 0.25)", n: 3, delayNs: 10e6, c: 0.25, ms: 480 },
    { name: "the same with time compressed 10x", n: 3, delayNs: 10e6, c: 10, ms: 50 },
    { name: "1 ms links: the 50 ms floor", n: 4, delayNs: 1e6, c: 1, ms: 50 },
    { name: "6 nodes, 5 ms links: 3 x 2 x 25 ms", n: 6, delayNs: 5e6, c: 1, ms: 150 },
  ];
  for (const t of cases)
    it(t.name, () => {
      assert.equal(redialWallMs(line(t.n, { delayNs: t.delayNs }), t.c), t.ms);
    });
});
