/**
 * The emulation's {@link Clock} for the control driver: wall time since the agents' epoch, scaled to simulated ns
 * (x timeCompression), advancing in ticks of one sampling interval (metrics.interval / c of wall time). On every
 * tick it reads the link counters, takes their reading at its (simulated) instant, moves the link sampler on, and
 * runs the driver's callbacks that fell due; link events and control steps therefore happen on ticks. A tick that
 * starts more than half a tick late (the machine is busy) is counted in {@link EmulationClock.lateTicks}. Time runs
 * on while a policy decides.
 */
import type { Clock } from "../models/control/driver.ts";
import type { Simulator } from "../sim/kernel/simulator.ts";
import type { LinkCounters } from "./counters.ts";

export interface EmulationClockOptions {
  /** The agents' epoch, hrtime ns. */
  epoch: bigint;
  timeCompression: number;
  /** Tick length, simulated ns. */
  tickNs: number;
  /** The end of the emulated window, and of waiting for flows to finish after it, simulated ns. */
  windowNs: number;
  endNs: number;
  counters: LinkCounters;
  /** The link sampler's clock, moved to each reading's instant. */
  sampling: Simulator;
  /** Whether every flow finished (the run may end before `endNs`). */
  done: () => boolean;
  /** Called after every tick; throws to end the run (an agent died). */
  checkAlive: () => void;
  signal?: AbortSignal;
  onProgress?: (nowNs: number, windowNs: number) => void;
}

type TickResult = "ok" | "skipped" | "aborted";

export class EmulationClock implements Clock {
  readonly stopsForDecisions = false;
  nowNs = 0;
  ticks = 0;
  lateTicks = 0;
  private k = 0;
  private counterFailures = 0;
  private interrupted = false;
  private readonly due: { atNs: number; fn: () => void }[] = [];

  constructor(private readonly o: EmulationClockOptions) {}

  at(atNs: number, fn: () => void): void {
    let i = this.due.length;
    while (i > 0 && this.due[i - 1]!.atNs > atNs) i--;
    this.due.splice(i, 0, { atNs, fn });
  }

  advance(untilNs: number): Promise<boolean> {
    return this.tickUntil(() => this.nowNs >= untilNs);
  }

  drain(): Promise<boolean> {
    return this.tickUntil(
      () => this.nowNs >= this.o.endNs || (this.nowNs >= this.o.windowNs && this.o.done()),
    );
  }

  hasDue(tNs: number): boolean {
    return this.due.length > 0 && this.due[0]!.atNs <= Math.min(tNs, this.nowNs);
  }

  interrupt(): void {
    this.interrupted = true;
  }

  /** Ticks until `reached` or an interrupt; false when the run was aborted. */
  private async tickUntil(reached: () => boolean): Promise<boolean> {
    this.interrupted = false;
    while (!reached()) {
      const r = await this.tick();
      if (r === "aborted") return false;
      if (r === "skipped") continue;
      while (this.due.length > 0 && this.due[0]!.atNs <= this.nowNs) this.due.shift()!.fn();
      this.o.checkAlive();
      if (this.o.signal?.aborted) return false;
      if (this.interrupted) return true;
    }
    return true;
  }

  /** One tick: wait for its instant, read the counters, move the sampler on. */
  private async tick(): Promise<TickResult> {
    const { epoch, timeCompression: c, tickNs, counters, sampling } = this.o;
    const simNow = ++this.k * tickNs;
    const due = epoch + BigInt(Math.round(simNow / c));
    await sleepUntil(due);
    this.ticks++;
    if (Number(process.hrtime.bigint() - due) > Math.round(tickNs / c) / 2) this.lateTicks++;
    const simTimeNow = () => Number(process.hrtime.bigint() - epoch) * c;
    const t0 = simTimeNow();
    try {
      await counters.read();
      this.counterFailures = 0;
    } catch (e) {
      // A reading can fail under load or while the run is being interrupted: skip it (the next one covers the
      // interval), unless it keeps failing.
      if (this.o.signal?.aborted) return "aborted";
      if (++this.counterFailures > 3) throw e;
      return "skipped";
    }
    const tRead = Math.round((t0 + simTimeNow()) / 2);
    counters.record(tRead);
    sampling.run(Math.max(sampling.now, Math.min(tRead, simNow + tickNs - 1)));
    counters.forgetBefore(sampling.now - tickNs);
    this.o.onProgress?.(Math.min(simNow, this.o.windowNs), this.o.windowNs);
    this.nowNs = simNow;
    return "ok";
  }
}

function sleepUntil(t: bigint): Promise<void> {
  const ms = Number(t - process.hrtime.bigint()) / 1e6;
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
