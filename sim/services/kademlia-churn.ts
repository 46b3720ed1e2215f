/**
 * Churn for the Kademlia model: nodes crash and fresh nodes join, keeping the population constant.
 *
 * Departures form a Poisson process of rate `fractionPerHour` x N / hour, N the live population when churn starts
 * (so `fractionPerHour: 0.2` replaces 20% of the nodes per hour on average). Each departure crashes a live node
 * drawn uniformly (it stops answering and loses what it stored) and, at the same instant, a new node with a fresh
 * id joins on a uniformly drawn host through a uniformly drawn live node (KademliaNetwork.join). Draws come from
 * the stream `<name>/churn`.
 */
import type { RandomStreams } from "../../sim/kernel/rng.ts";
import { DhtModelError, type KademliaNetwork } from "./kademlia.ts";

export interface ChurnOptions {
  /** Share of the population replaced per hour (e.g. 0.2). */
  readonly fractionPerHour: number;
  /** Hosts (substrate node indices 0..hosts-1) joining nodes are placed on. */
  readonly hosts: number;
  /** No departure after this time, ns. */
  readonly untilNs: number;
  /** Nodes that never leave (e.g. a measurement's fixed clients). */
  readonly protect?: ReadonlySet<number>;
}

export interface ChurnCounters {
  leaves: number;
  joins: number;
}

const HOUR_NS = 3600e9;

/** Schedules churn on `net` from now until `opts.untilNs`; the returned counters grow as it runs. */
export function startChurn(net: KademliaNetwork, streams: RandomStreams, opts: ChurnOptions): ChurnCounters {
  if (!(opts.fractionPerHour >= 0) || !Number.isFinite(opts.fractionPerHour))
    throw new DhtModelError(
      `churn: fractionPerHour must be a finite number >= 0, got ${opts.fractionPerHour}`,
    );
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1)
    throw new DhtModelError(`churn: hosts must be an integer >= 1, got ${opts.hosts}`);
  const counters: ChurnCounters = { leaves: 0, joins: 0 };
  const rate = (opts.fractionPerHour * net.liveCount) / HOUR_NS;
  if (rate === 0) return counters;
  const rng = streams.stream(`${net.options.name}/churn`);
  const sim = net.sim;
  const step = (): void => {
    let victim = -1;
    for (let tries = 0; tries < 100 && victim < 0; tries++) {
      const v = net.liveAt(rng.int(net.liveCount));
      if (!opts.protect?.has(v)) victim = v;
    }
    if (victim >= 0) {
      net.leave(victim);
      counters.leaves++;
      const fresh = net.addNode(rng.int(opts.hosts));
      let bootstrap = fresh;
      while (bootstrap === fresh) bootstrap = net.liveAt(rng.int(net.liveCount));
      net.join(fresh, bootstrap);
      counters.joins++;
    }
    const gap = Math.max(1, Math.round(rng.exponential(1 / rate)));
    if (sim.now + gap <= opts.untilNs) sim.schedule(gap, step);
  };
  const first = Math.max(1, Math.round(rng.exponential(1 / rate)));
  if (sim.now + first <= opts.untilNs) sim.schedule(first, step);
  return counters;
}
