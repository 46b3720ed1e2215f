import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CalendarEventQueue } from "../../../sim/kernel/calendar-queue.ts";
import type { EventQueue } from "../../../sim/kernel/event-queue.ts";
import { HeapEventQueue } from "../../../sim/kernel/heap-queue.ts";

type Op =
  | { kind: "push"; delay: number; prio: number }
  | { kind: "cancel"; which: number }
  | { kind: "pop"; times: number };

const opArb = (maxDelay: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("push" as const),
        delay: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: maxDelay })),
        prio: fc.integer({ min: -2, max: 2 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), which: fc.nat(500) }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("pop" as const), times: fc.integer({ min: 1, max: 5 }) }),
    },
  );

const implementations: [string, () => EventQueue][] = [
  ["calendar queue", () => new CalendarEventQueue(16)],
  ["4-ary heap", () => new HeapEventQueue(16)],
];

for (const [name, make] of implementations) {
  describe(name, () => {
    for (const maxDelay of [20, 1_000_000]) {
      it(`pops in (time, priority, insertion) order with cancels, as a sorted list does (delays up to ${maxDelay} ns)`, () => {
        fc.assert(
          fc.property(fc.array(opArb(maxDelay), { maxLength: 600 }), (ops) => {
            const q = make();
            const ref: { time: number; prio: number; seq: number; id: number }[] = [];
            const ids: number[] = [];
            let seq = 0;
            let now = 0;
            const popped: number[] = [];
            const expected: number[] = [];
            for (const op of ops) {
              if (op.kind === "push") {
                const s = seq++;
                const time = now + op.delay;
                const id = q.push(time, op.prio, (d: number) => popped.push(d), s);
                ids.push(id);
                ref.push({ time, prio: op.prio, seq: s, id });
              } else if (op.kind === "cancel") {
                if (ids.length === 0) continue;
                const id = ids[op.which % ids.length]!;
                const at = ref.findIndex((r) => r.id === id);
                assert.equal(q.isPending(id), at >= 0);
                assert.equal(q.cancel(id), at >= 0);
                if (at >= 0) ref.splice(at, 1);
              } else {
                for (let i = 0; i < op.times; i++) {
                  ref.sort((a, b) => a.time - b.time || a.prio - b.prio || a.seq - b.seq);
                  const head = ref.shift();
                  assert.equal(q.peekTime(), head ? head.time : Number.POSITIVE_INFINITY);
                  const ok = q.pop((t, h, d) => {
                    now = t;
                    (h as (x: unknown) => void)(d);
                  });
                  assert.equal(ok, head !== undefined);
                  if (head) expected.push(head.seq);
                }
              }
              assert.equal(q.length, ref.length);
            }
            assert.deepEqual(popped, expected);
          }),
          { numRuns: 200, seed: 42 },
        );
      });
    }

    it("ignores a stale id after its slot is reused", () => {
      const q = make();
      const a = q.push(5, 0, () => {}, undefined);
      assert.equal(q.cancel(a), true);
      const b = q.push(6, 0, () => {}, undefined);
      assert.notEqual(a, b);
      assert.equal(q.cancel(a), false, "the old id must not cancel the new event in the same slot");
      assert.equal(q.isPending(b), true);
      assert.equal(q.length, 1);
    });

    it("keeps order through growth and shrinking (hold model, 20k events, many ties)", () => {
      const q = make();
      let x = 12345;
      const next = () => {
        x = (x * 48271) % 2147483647;
        return x / 2147483647;
      };
      for (let i = 0; i < 20_000; i++)
        q.push(Math.round(-100 * Math.log(1 - next())), 0, () => {}, undefined);
      let last = -1;
      let count = 0;
      while (
        q.pop((t) => {
          assert.ok(t >= last);
          last = t;
          count++;
          if (count < 10_000) q.push(t + Math.round(-100 * Math.log(1 - next())), 0, () => {}, undefined);
        })
      );
      assert.equal(count, 29_999);
    });

    it("rejects a priority outside [-2^20, 2^20)", () => {
      assert.throws(() => make().push(0, 2 ** 20, () => {}, undefined), RangeError);
    });
  });
}
