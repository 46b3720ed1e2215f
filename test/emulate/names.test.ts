import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationError } from "../../emulate/errors.ts";
import {
  belongsToRun,
  ifName,
  MAX_IF_INDEX,
  MAX_IFNAME,
  macAddress,
  netnsNames,
  newRunId,
  runIdOf,
} from "../../emulate/names.ts";

describe("object names", () => {
  it("a new run id is six hex digits", () => assert.match(newRunId(), /^[0-9a-f]{6}$/));

  const ifCases: { args: Parameters<typeof ifName>; expected: string }[] = [
    { args: ["1a2b3c", "e", 0, "a"], expected: "tc1a2b3c-e0a" },
    { args: ["1a2b3c", "w", 37, "b"], expected: "tc1a2b3c-w11b" },
    { args: ["1a2b3c", "v", MAX_IF_INDEX, "b"], expected: "tc1a2b3c-vzzzzb" },
  ];
  for (const c of ifCases) {
    it(`interface ${c.args.join(",")} is ${c.expected} (at most ${MAX_IFNAME} chars)`, () => {
      assert.equal(ifName(...c.args), c.expected);
      assert.ok(c.expected.length <= MAX_IFNAME);
    });
  }

  it("interface indices beyond four base-36 digits are refused", () => {
    assert.throws(() => ifName("1a2b3c", "e", MAX_IF_INDEX + 1, "a"), EmulationError);
  });

  it("a bad run id is refused", () =>
    assert.throws(() => ifName("xyz", "e", 0, "a"), /six lower-case hex digits/));

  it("namespaces carry the node id, sanitized", () => {
    assert.deepEqual(netnsNames("1a2b3c", ["ATLA-M5", "New York"]), [
      "tc1a2b3c-ATLA-M5",
      "tc1a2b3c-New_York",
    ]);
  });

  it("colliding sanitized ids fall back to indices", () => {
    assert.deepEqual(netnsNames("1a2b3c", ["a b", "a_b"]), ["tc1a2b3c-n0", "tc1a2b3c-n1"]);
  });

  it("membership is by exact prefix and dash", () => {
    assert.equal(belongsToRun("tc1a2b3c-n0", "1a2b3c"), true);
    assert.equal(belongsToRun("tc1a2b3cd-n0", "1a2b3c"), false);
    assert.equal(belongsToRun("xtc1a2b3c-n0", "1a2b3c"), false);
    assert.equal(runIdOf("tc1a2b3c-n0"), "1a2b3c");
    assert.equal(runIdOf("tcxyz-n0"), undefined);
  });

  it("MACs are locally administered and distinct per kind, index and side", () => {
    const macs = new Set<string>();
    for (const k of ["e", "u", "w", "v"] as const)
      for (let i = 0; i < 50; i++) for (const s of ["a", "b"] as const) macs.add(macAddress(k, i, s));
    assert.equal(macs.size, 400);
    assert.equal(macAddress("e", 0, "a"), "02:74:63:00:00:00");
  });
});
