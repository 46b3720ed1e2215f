import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EventQueue } from "../../../sim/kernel/event-queue.ts";

type Op = { kind: "push"; time: number; prio: number } | { kind: "cancel"; which: number } | { kind: "pop" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("push" as const),
    time: fc.integer({ min: 0, max: 20 }),
    prio: fc.integer({ min: -2, max: 2 }),
  }),
  fc.record({ kind: fc.constant("cancel" as const), which: fc.nat(200) }),
  fc.record({ kind: fc.constant("pop" as const) }),
);

describe("event queue", () => {
  it("pops in (time, priority, insertion) order, with cancels, like a sorted reference list", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const q = new EventQueue(16);
        const ref: { time: number; prio: number; seq: number; id: number }[] = [];
        const ids: number[] = [];
        let seq = 0;
        const popped: number[] = [];
        const expected: number[] = [];
        for (const op of ops) {
          if (op.kind === "push") {
            const s = seq++;
            const id = q.push(op.time, op.prio, (d: number) => popped.push(d), s);
            ids.push(id);
            ref.push({ time: op.time, prio: op.prio, seq: s, id });
          } else if (op.kind === "cancel") {
            if (ids.length === 0) continue;
            const id = ids[op.which % ids.length]!;
            const at = ref.findIndex((r) => r.id === id);
            assert.equal(q.cancel(id), at >= 0);
            if (at >= 0) ref.splice(at, 1);
          } else {
            ref.sort((a, b) => a.time - b.time || a.prio - b.prio || a.seq - b.seq);
            const head = ref.shift();
            const ok = q.pop((_t, h, d) => (h as (x: unknown) => void)(d));
            assert.equal(ok, head !== undefined);
            if (head) expected.push(head.seq);
          }
          assert.equal(q.length, ref.length);
        }
        assert.deepEqual(popped, expected);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it("ignores a stale id after its slot is reused", () => {
    const q = new EventQueue(16);
    const a = q.push(5, 0, () => {}, undefined);
    assert.equal(q.cancel(a), true);
    const b = q.push(6, 0, () => {}, undefined);
    assert.notEqual(a, b);
    assert.equal(q.cancel(a), false, "the old id must not cancel the new event in the same slot");
    assert.equal(q.isPending(b), true);
    assert.equal(q.length, 1);
  });

  it("grows past its initial capacity and keeps order", () => {
    const q = new EventQueue(16);
    const n = 10_000;
    for (let i = 0; i < n; i++) q.push((i * 7919) % n, 0, () => {}, undefined);
    let last = -1;
    let count = 0;
    while (
      q.pop((t) => {
        assert.ok(t >= last);
        last = t;
        count++;
      })
    );
    assert.equal(count, n);
  });
});
