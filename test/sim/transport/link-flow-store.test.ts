import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkFlowStore } from "../../../sim/transport/link-flow-store.ts";

/** The store's entries per link as [slot, hop] pairs, in order. */
function entries(s: LinkFlowStore, links: number): [number, number][][] {
  return Array.from({ length: links }, (_, l) => {
    const out: [number, number][] = [];
    for (let i = 0; i < s.count[l]!; i++) out.push([s.flows[s.start[l]! + i]!, s.hops[s.start[l]! + i]!]);
    return out;
  });
}

describe("LinkFlowStore", () => {
  const cases: { name: string; links: number; ops: number }[] = [
    { name: "few links, many entries each (segments move and the store grows)", links: 3, ops: 5000 },
    { name: "many links, churn (compaction)", links: 200, ops: 20000 },
  ];
  for (const c of cases) {
    it(`keeps the same entries as per-link lists: ${c.name}`, () => {
      const store = new LinkFlowStore(c.links);
      const model: [number, number][][] = Array.from({ length: c.links }, () => []);
      let x = 12345;
      const rand = (n: number) => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return x % n;
      };
      for (let k = 0; k < c.ops; k++) {
        const l = rand(c.links);
        const list = model[l]!;
        if (list.length > 0 && rand(3) === 0) {
          const i = rand(list.length);
          const moved = store.removeAt(l, i);
          const last = list.pop()!;
          if (i < list.length) list[i] = last;
          assert.equal(moved, i < list.length ? list.length : -1);
        } else {
          assert.equal(store.add(l, k, k % 7), list.length);
          list.push([k, k % 7]);
        }
      }
      assert.deepEqual(entries(store, c.links), model);
      const { flows, count } = store.slotsOn(0);
      assert.deepEqual(
        Array.from(flows.subarray(0, count)),
        model[0]!.map((e) => e[0]),
      );
    });
  }

  it("grows to more links, new ones empty", () => {
    const store = new LinkFlowStore(2);
    store.add(1, 5, 0);
    store.growLinks(4);
    store.add(3, 6, 2);
    assert.deepEqual(entries(store, 4), [[], [[5, 0]], [], [[6, 2]]]);
  });
});
