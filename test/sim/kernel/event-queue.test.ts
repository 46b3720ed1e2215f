import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CalendarEventQueue, orderStatistic } from "../../../sim/kernel/calendar-queue.ts";
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

    it("clear drops every event, makes their ids stale, and the queue works on afterwards", () => {
      const q = make();
      const noop = () => {};
      const old: number[] = [];
      for (let i = 0; i < 3000; i++) old.push(q.push(i % 7 === 0 ? i * 1000 : i % 5, 0, noop, undefined));
      for (let i = 0; i < 500; i++) q.cancel(old[i * 3]!);
      q.pop(noop);
      q.clear();
      assert.equal(q.length, 0);
      assert.equal(q.peekTime(), Number.POSITIVE_INFINITY);
      assert.ok(old.every((id) => !q.isPending(id) && !q.cancel(id)));
      const order: number[] = [];
      for (let i = 0; i < 3000; i++) q.push(50 + (i % 3), 0, (d: number) => order.push(d), i);
      while (q.pop((_t, h, d) => (h as (x: unknown) => void)(d)));
      const expected = [0, 1, 2].flatMap((r) => Array.from({ length: 1000 }, (_, k) => 3 * k + r));
      assert.deepEqual(order, expected);
    });

    it("rejects a priority outside [-2^20, 2^20)", () => {
      assert.throws(() => make().push(0, 2 ** 20, () => {}, undefined), RangeError);
    });

    it("popUntil pops only events at or before its bound, in order, as a sorted list does", () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              pushes: fc.array(fc.record({ delay: fc.nat(50), prio: fc.integer({ min: -1, max: 1 }) }), {
                maxLength: 8,
              }),
              cancel: fc.nat(100),
              ahead: fc.nat(30),
            }),
            { maxLength: 80 },
          ),
          (steps) => {
            const q = make();
            const ref: { time: number; prio: number; seq: number; id: number }[] = [];
            let seq = 0;
            let now = 0;
            const popped: number[] = [];
            for (const step of steps) {
              for (const p of step.pushes) {
                const s = seq++;
                const id = q.push(now + p.delay, p.prio, (d: number) => popped.push(d), s);
                ref.push({ time: now + p.delay, prio: p.prio, seq: s, id });
              }
              if (ref.length > 0 && step.cancel % 3 === 0) {
                const [r] = ref.splice(step.cancel % ref.length, 1);
                assert.equal(q.cancel(r!.id), true);
              }
              const until = now + step.ahead;
              ref.sort((a, b) => a.time - b.time || a.prio - b.prio || a.seq - b.seq);
              const due = ref.filter((r) => r.time <= until).map((r) => r.seq);
              ref.splice(0, due.length);
              popped.length = 0;
              while (
                q.popUntil(until, (t, h, d) => {
                  assert.ok(t <= until && t >= now);
                  now = t;
                  (h as (x: unknown) => void)(d);
                })
              );
              assert.deepEqual(popped, due);
              assert.equal(q.length, ref.length);
              assert.equal(q.peekTime(), ref.length > 0 ? ref[0]!.time : Number.POSITIVE_INFINITY);
              now = until;
            }
          },
        ),
        { numRuns: 200, seed: 7 },
      );
    });
  });
}

describe("calendar queue against the heap", () => {
  it("gives the same pops and ids' liveness on long runs with bursts, ties, far timers and cancels", () => {
    // Long enough for many resizes, chunk reuse and slot generations; the heap is the reference.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 2 }), (seed) => {
        let x = seed;
        const rand = () => {
          x = (x * 48271) % 2147483647;
          return x / 2147483647;
        };
        const cal = new CalendarEventQueue(16);
        const heap = new HeapEventQueue(16);
        const ids: [number, number][] = [];
        const got: number[][] = [[], []];
        let now = 0;
        let tag = 0;
        for (let step = 0; step < 6000; step++) {
          const r = rand();
          if (r < 0.5) {
            const burst = rand() < 0.05 ? 200 : 1;
            for (let i = 0; i < burst; i++) {
              const u = rand();
              const delay =
                u < 0.3 ? 0 : u < 0.9 ? Math.round(-50 * Math.log(1 - rand())) : Math.floor(rand() * 1e9);
              const prio = rand() < 0.1 ? -1 : 0;
              const t = tag++;
              ids.push([
                cal.push(now + delay, prio, (d: number) => got[0]!.push(d), t),
                heap.push(now + delay, prio, (d: number) => got[1]!.push(d), t),
              ]);
            }
          } else if (r < 0.65 && ids.length > 0) {
            const [a, b] = ids[Math.floor(rand() * ids.length)]!;
            assert.equal(cal.isPending(a), heap.isPending(b));
            assert.equal(cal.cancel(a), heap.cancel(b));
          } else {
            const n = rand() < 0.05 ? 500 : 3;
            for (let i = 0; i < n; i++) {
              let tc = -1;
              const okc = cal.pop((t, h, d) => {
                tc = t;
                (h as (v: unknown) => void)(d);
              });
              const okh = heap.pop((t, h, d) => {
                assert.equal(t, tc);
                (h as (v: unknown) => void)(d);
              });
              assert.equal(okc, okh);
              if (okc) now = tc;
            }
          }
          assert.equal(cal.length, heap.length);
        }
        assert.deepEqual(got[0], got[1]);
        for (const [a, b] of ids) assert.equal(cal.isPending(a), heap.isPending(b));
      }),
      { numRuns: 30, seed: 11 },
    );
  });
});

describe("calendar queue memory", () => {
  // Hold runs with cancels and reschedules: a leaked chunk or slot would make the capacity creep up over the run.
  // `spread` sets how far ahead events go, so buckets are sparse (single slots) or dense (chunks of their own).
  for (const [kind, spread] of [
    ["sparse", 1000],
    ["dense", 10],
  ] as const) {
    it(`reuses its slots: capacity stays bounded on a long hold run with cancels (${kind} buckets)`, () => {
      const capacity = (q: CalendarEventQueue) => (q as unknown as { cap: number }).cap;
      const q = new CalendarEventQueue(16);
      let x = 99;
      const rand = () => {
        x = (x * 48271) % 2147483647;
        return x / 2147483647;
      };
      const pending = 2000;
      const ids: number[] = [];
      let now = 0;
      const noop = () => {};
      for (let i = 0; i < pending; i++) ids.push(q.push(Math.floor(rand() * spread), 0, noop, undefined));
      let capMid = 0;
      for (let step = 0; step < 200_000; step++) {
        if (rand() < 0.3) {
          const k = Math.floor(rand() * ids.length);
          if (q.cancel(ids[k]!))
            ids[k] = q.push(now + Math.floor(rand() * (rand() < 0.1 ? 1e6 : spread)), 0, noop, 0);
        } else {
          q.pop((t) => {
            now = t;
          });
          ids[Math.floor(rand() * ids.length)] = q.push(
            now + Math.floor(rand() * spread),
            0,
            noop,
            undefined,
          );
        }
        if (step === 50_000) capMid = capacity(q);
      }
      assert.equal(q.length, pending);
      assert.equal(capacity(q), capMid, "no growth after warm-up");
      assert.ok(capacity(q) <= 4 * pending, `capacity ${capacity(q)} for ${pending} pending events`);
    });
  }
});

describe("calendar queue day width", () => {
  // The day of a time is floor(time * (1 / width)): exact, and the same day as floor(time / width), only when the
  // width is a power of two. Event spacings from many events per ns (width at its 1 ns floor) to sparse.
  for (const spread of [3, 700, 5e7]) {
    it(`stays a power of two through resizes, pops in order (events spread over ${spread} ns)`, () => {
      const q = new CalendarEventQueue(16);
      const inner = q as unknown as { width: number; inv: number };
      let x = 7;
      const rand = () => {
        x = (x * 48271) % 2147483647;
        return x / 2147483647;
      };
      const noop = () => {};
      for (let i = 0; i < 3000; i++) q.push(Math.floor(rand() * spread), 0, noop, undefined);
      let now = 0;
      const widths = new Set<number>();
      for (let step = 0; step < 20_000; step++) {
        const grow = step < 10_000 ? rand() < 0.6 : rand() < 0.4;
        if (grow || q.length === 0) q.push(now + Math.floor(rand() * spread), 0, noop, undefined);
        else
          q.pop((t) => {
            assert.ok(t >= now, `popped ${t} after ${now}`);
            now = t;
          });
        widths.add(inner.width);
        assert.equal(inner.width * inner.inv, 1);
      }
      for (const w of widths) assert.ok(w >= 1 && 2 ** Math.round(Math.log2(w)) === w, `width ${w}`);
      assert.ok(widths.size > 1 || spread === 3, "resizes re-estimated the width");
    });
  }
});

describe("orderStatistic", () => {
  it("returns the k-th smallest value, as sorting does", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 4 }),
            fc.double({ noNaN: true }).map((v) => v + 0),
          ),
          {
            minLength: 1,
            maxLength: 300,
          },
        ),
        fc.nat(),
        (values, k0) => {
          const a = Float64Array.from(values);
          const sorted = Float64Array.from(values).sort();
          const k = k0 % a.length;
          assert.equal(orderStatistic(a, k), sorted[k]);
          assert.deepEqual(a.slice().sort(), sorted, "reorders without losing values");
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });
});
