import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { LinkShareHeap } from "../../../sim/transport/link-share-heap.ts";

/** The reference: the live (share, link) entries, least first. */
function least(live: Map<number, number>): [number, number] {
  let best: [number, number] | undefined;
  for (const [l, k] of live) if (!best || k < best[1] || (k === best[1] && l < best[0])) best = [l, k];
  return best!;
}

describe("indexed link share heap", () => {
  it("pops in (share, link) order through random appends, updates and removals", () => {
    const rng = new RandomStreams(9).stream("heap-test");
    for (let round = 0; round < 50; round++) {
      const heap = new LinkShareHeap();
      const live = new Map<number, number>();
      const links = 1 + rng.int(300);
      for (let l = 0; l < links; l++) {
        if (rng.uniform() < 0.2) continue;
        // Few distinct shares, so ties on the share are common and the link index decides.
        const k = rng.int(8);
        heap.append(k, l * 3);
        live.set(l * 3, k);
      }
      heap.heapify();
      while (live.size > 0) {
        const op = rng.uniform();
        const ids = [...live.keys()];
        const l = ids[rng.int(ids.length)]!;
        if (op < 0.3) {
          const k = rng.int(8) + rng.uniform() * (rng.uniform() < 0.5 ? 0 : 1);
          heap.update(l, k);
          live.set(l, k);
        } else if (op < 0.4) {
          heap.remove(l);
          live.delete(l);
          heap.remove(l); // absent: nothing happens
        } else {
          const [wantLink, wantKey] = least(live);
          assert.equal(heap.pop(), wantLink);
          assert.equal(heap.topKey, wantKey);
          live.delete(wantLink);
        }
        assert.equal(heap.size, live.size);
      }
    }
  });

  it("clear empties it and forgets positions", () => {
    const heap = new LinkShareHeap();
    heap.append(2, 5);
    heap.append(1, 900);
    heap.heapify();
    heap.clear();
    assert.equal(heap.size, 0);
    heap.remove(900); // no longer in the heap
    heap.append(3, 900);
    heap.heapify();
    assert.equal(heap.pop(), 900);
    assert.equal(heap.topKey, 3);
  });
});
