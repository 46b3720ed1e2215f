/**
 * The path agent (LinUCB with a shared model, models/rl/path-bandit.ts) learns which of two paths is better from
 * noisy probes, and its decisions survive a save/load round trip.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  contextOf,
  DEFAULT_REWARD,
  DIMENSION,
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
