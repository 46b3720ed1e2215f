/**
 * CUBIC's window (RFC 9438) as the packet model computes it, against the RFC's closed forms: after a congestion event
 * at W the threshold is 0.7 W; fast convergence lowers W_max below a W_max not reached again; in congestion
 * avoidance the window follows W_cubic(t) = C (t - K)^3 + W_max, K = cbrt((W_max - W0) / C), concave up to W_max
 * at t = K, then convex beyond it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cubic } from "../../../../sim/transport/packet/cubic.ts";

const RTT_NS = 100e6;

/** Feeds one window of ACKs per RTT from `w0` for `seconds`; the window after each RTT. */
function grow(c: Cubic, w0: number, seconds: number): number[] {
  const out: number[] = [];
  let w = w0;
  for (let t = 0; t < seconds * 1e9; t += RTT_NS) {
    const acks = Math.floor(w);
    for (let i = 0; i < acks; i++) w = c.increase(0, w, 1, t + (i * RTT_NS) / acks, RTT_NS);
    out.push(w);
  }
  return out;
}

describe("CUBIC window", () => {
  const events = [
    { what: "a first event at 100 segments", windows: [100], ssthresh: 70 },
    { what: "a small window keeps the floor of 2 segments", windows: [2], ssthresh: 2 },
    {
      what: "a second event below W_max (fast convergence) still sets 0.7 W",
      windows: [100, 80],
      ssthresh: 56,
    },
  ];
  for (const e of events) {
    test(`${e.what}: ssthresh = ${e.ssthresh}`, () => {
      const c = new Cubic();
      c.grow(1);
      c.reset(0);
      let s = 0;
      for (const w of e.windows) s = c.onCongestion(0, w);
      assert.ok(Math.abs(s - e.ssthresh) < 1e-9, `ssthresh ${s}`);
    });
  }

  test("from 70 segments after an event at 100 it reaches W_max at t = K = cbrt(30 / 0.4) s, concave then convex", () => {
    const c = new Cubic();
    c.grow(1);
    c.reset(0);
    c.onCongestion(0, 100);
    const k = Math.cbrt(30 / 0.4);
    const w = grow(c, 70, 2 * k);
    const at = (s: number) => w[Math.round((s * 1e9) / RTT_NS) - 1]!;
    assert.ok(Math.abs(at(k) - 100) < 2, `W(K) = ${at(k)}`);
    const early = at(1) - at(0.5);
    const plateau = at(k) - at(k - 0.5);
    const late = at(2 * k) - at(2 * k - 0.5);
    assert.ok(plateau < early && plateau < late, `growth per 0.5 s: ${early}, ${plateau}, ${late}`);
  });

  test("before any congestion event the window grows at least 5% per RTT (Linux's and ns-3's cnt clamp of 20)", () => {
    const c = new Cubic();
    c.grow(1);
    c.reset(0);
    const w = grow(c, 100, 0.5);
    // W_cubic alone would add C (0.5 + 0.1)^3 = 0.09 segments; 1.05^5 x 100 = 127.6
    assert.ok(w[w.length - 1]! >= 125 && w[w.length - 1]! < 130, `W(0.5 s) = ${w[w.length - 1]}`);
  });

  test("fast convergence: an event at 800 after one at 1000 sets W_max = 800 x 1.7 / 2 = 680", () => {
    const c = new Cubic();
    c.grow(1);
    c.reset(0);
    c.onCongestion(0, 1000);
    c.onCongestion(0, 800);
    const k = Math.cbrt((680 - 560) / 0.4);
    const w = grow(c, 560, k + 0.05);
    assert.ok(Math.abs(w[w.length - 1]! - 680) < 5, `W(K) = ${w[w.length - 1]}`);
  });
});
