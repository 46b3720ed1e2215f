/**
 * The path agent (LinUCB with a shared model, models/rl/path-bandit.ts) learns which of two paths is better from
 * noisy probes, and its decisions survive a save/load round trip; the flow-time feature and reward rank paths as
 * a flow would (a lossy link held to its Mathis rate is worse than a longer healthy path).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  contextOf,
  DEFAULT_REWARD,
  DIMENSION,
  FEATURES,
  flowTimeNs,
  type PathView,
  rewardOf,
} from "../../../models/rl/features.ts";
import { PathBandit } from "../../../models/rl/path-bandit.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";

/**
 * The toy topology: two paths from s to t.
 *
 *        s --(5 ms)-- a --(5 ms)-- t     "short": RTT 20 ms, but its bottleneck is 95% used
 *         \                      /
 *          b -----(15 ms)------'         "long":  RTT 40 ms, 80% of its bottleneck free
 *
 * With the default reward (-log2(1 + T / 50 ms), T a 1 MB flow's RTT plus transfer time at the free bandwidth), long
 * earns -log2(1 + (40 + 10) / 50) = -1 and short -log2(1 + (20 + 160) / 50) = -2.2: the long path is better
 * although its RTT is twice as high.
 */
const PATHS = {
  short: { rttNs: 20e6, freeShare: 0.05, hops: 2 },
  long: { rttNs: 40e6, freeShare: 0.8, hops: 2 },
};
const BOTTLENECK = 1e9;
const ARMS = ["short", "long"] as const;

/** One probe of a path: RTT with +-10% noise, available bandwidth with +-0.05 of the capacity. */
function probe(arm: (typeof ARMS)[number], rng: () => number) {
  const p = PATHS[arm];
  return {
    rttNs: p.rttNs * (0.9 + 0.2 * rng()),
    availableBps: BOTTLENECK * Math.max(0, p.freeShare - 0.05 + 0.1 * rng()),
  };
}

function view(last: { rttNs: number; availableBps: number } | null, hops: number): PathView {
  return {
    rttNs: last?.rttNs ?? null,
    prevRttNs: null,
    loss: 0,
    availableBps: last?.availableBps ?? null,
    bottleneckBps: BOTTLENECK,
    forecastUtilization: last ? 1 - last.availableBps / BOTTLENECK : 0,
    hops,
    secureShare: 1,
  };
}

/**
 * Episodes of `steps` decisions each: both paths are probed, the agent picks one and earns the reward of the
 * picked path's next probe. @returns the share of long-path picks per episode.
 */
function train(bandit: PathBandit, episodes: number, steps: number, seed: number): number[] {
  const streams = new RandomStreams(seed);
  const noise = streams.stream("toy/noise");
  const explore = streams.stream("toy/explore");
  const shares: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let long = 0;
    for (let s = 0; s < steps; s++) {
      const xs = ARMS.map((a) =>
        contextOf(
          view(
            probe(a, () => noise.uniform()),
            2,
          ),
          DEFAULT_REWARD,
        ),
      );
      const i = bandit.select(xs, { alpha: 0.5, epsilon: 0.1 }, explore);
      const next = probe(ARMS[i]!, () => noise.uniform());
      bandit.update(xs[i]!, rewardOf(next, BOTTLENECK, 1, DEFAULT_REWARD));
      if (ARMS[i] === "long") long++;
    }
    shares.push(long / steps);
  }
  return shares;
}

describe("path bandit", () => {
  it("learns the better of two paths on the toy topology within 5 episodes of 20 decisions, for every seed", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const bandit = new PathBandit(DIMENSION);
      const shares = train(bandit, 5, 20, seed);
      // Greedy (no exploration) after 5 episodes: the long path, judged on fresh probes.
      const noise = new RandomStreams(seed).stream("toy/check");
      for (let k = 0; k < 20; k++) {
        const xs = ARMS.map((a) =>
          contextOf(
            view(
              probe(a, () => noise.uniform()),
              2,
            ),
            DEFAULT_REWARD,
          ),
        );
        assert.equal(ARMS[bandit.select(xs, { alpha: 0, epsilon: 0 })], "long", `seed ${seed}, check ${k}`);
      }
      // In the fifth episode at least 80% of picks (exploration included) were the long path.
      assert.ok(shares[4]! >= 0.8, `seed ${seed}: shares per episode ${shares.join(", ")}`);
    }
  });

  it("prefers the lower-RTT path when both have the same free bandwidth", () => {
    const bandit = new PathBandit(DIMENSION);
    const rng = new RandomStreams(7).stream("toy");
    for (let k = 0; k < 200; k++) {
      const rtt = 10e6 + 60e6 * rng.uniform();
      const x = contextOf(view({ rttNs: rtt, availableBps: 5e8 }, 3), DEFAULT_REWARD);
      bandit.update(x, rewardOf({ rttNs: rtt, availableBps: 5e8 }, BOTTLENECK, 1, DEFAULT_REWARD));
    }
    const xs = [60e6, 15e6].map((r) => contextOf(view({ rttNs: r, availableBps: 5e8 }, 3), DEFAULT_REWARD));
    assert.equal(bandit.select(xs, { alpha: 0, epsilon: 0 }), 1);
  });

  it("keeps its state: a bandit rebuilt from state() scores every context exactly as the original", () => {
    const a = new PathBandit(DIMENSION);
    train(a, 3, 20, 11);
    const b = new PathBandit(DIMENSION, 1, JSON.parse(JSON.stringify(a.state())));
    const rng = new RandomStreams(3).stream("check");
    for (let k = 0; k < 50; k++) {
      const x = Float64Array.from({ length: DIMENSION }, () => rng.uniform());
      assert.equal(b.score(x, 0.5), a.score(x, 0.5));
    }
    assert.equal(b.updates, a.updates);
  });

  it("refuses contexts of the wrong length and non-finite rewards", () => {
    const bandit = new PathBandit(DIMENSION);
    assert.throws(() => bandit.update(new Float64Array(7), 0), /context of length 7, expected 9/);
    assert.throws(() => bandit.update(new Float64Array(DIMENSION), Number.NaN), /reward must be finite/);
    assert.throws(() => bandit.select([], { alpha: 0, epsilon: 0 }), /no candidate/);
  });
});

describe("flow-time context and reward", () => {
  const spec = DEFAULT_REWARD;
  const healthy = (rttNs: number, roomBps: number): PathView => ({
    rttNs,
    prevRttNs: null,
    loss: 0,
    availableBps: roomBps,
    bottleneckBps: 10e9,
    forecastUtilization: 0,
    hops: 3,
    secureShare: 1,
    roomBps,
    pathLoss: 0,
  });
  const F = FEATURES.indexOf("flowTime");
  // Each row: a path that must score a worse (higher) flow time than the other, and why.
  const rows: { what: string; worse: PathView; better: PathView }[] = [
    {
      what: "a lossy link whose flows are held to their Mathis rate, though its probed free bandwidth is large",
      worse: { ...healthy(60e6, 2.4e9), pathLoss: 0.005 },
      better: healthy(80e6, 1e9),
    },
    { what: "a full path against a longer free one", worse: healthy(20e6, 5e6), better: healthy(40e6, 1e9) },
    {
      what: "a longer path at the same free bandwidth",
      worse: healthy(60e6, 1e9),
      better: healthy(20e6, 1e9),
    },
  ];
  for (const r of rows) {
    it(`rates worse ${r.what}`, () => {
      const worse = contextOf(r.worse, spec)[F]!;
      const better = contextOf(r.better, spec)[F]!;
      assert.ok(worse > better, `flowTime ${worse} vs ${better}`);
      const reward = (v: PathView) =>
        rewardOf({ rttNs: v.rttNs, availableBps: v.availableBps }, 10e9, 1, spec, v);
      assert.ok(reward(r.worse) < reward(r.better), "and earns less");
    });
  }

  it("the Mathis cap: a 1 MB flow over 0.5% loss at 55 ms RTT takes seconds", () => {
    const t = flowTimeNs(55e6, 2.4e9, 0.005, 1e6);
    assert.ok(t > 2e9 && t < 4e9, `${t} ns`);
  });
});
