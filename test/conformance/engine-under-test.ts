/**
 * What the verb conformance suite (test/conformance/verbs.test.ts) needs from an engine: its ControlPlane, a way to
 * let time pass, the next Observation's parts, a way to offer a flow, and a teardown that lists what is left.
 */
import assert from "node:assert/strict";
import type { IntervalObservation } from "../../models/control/driver.ts";
import type { ControlPlane } from "../../models/policies/types.ts";
import type { FlowMatchFields } from "../../models/policies/verb-args.ts";

export interface EngineUnderTest {
  /** Shown in test names: "simulator (fluid)", "emulator". */
  name: string;
  ctl: ControlPlane;
  /** Lets `ns` of the engine's time pass, so actions settle (setup latencies, real commands) and traffic moves. */
  advance(ns: number): Promise<void>;
  /** The Observation parts of the interval since the last call (consumes its counters). */
  observe(): IntervalObservation | Promise<IntervalObservation>;
  /**
   * Offers a flow of the pair now (with an application, destination port and protocol where given); false when the
   * data plane refuses it (a firewall rule).
   */
  startFlow(src: string, dst: string, sizeBytes: number, fields?: FlowMatchFields): Promise<boolean>;
  /** Tears everything down; lists what is left behind (must be nothing). */
  close(): Promise<string[]>;
}

/**
 * The engine an engine's rows run on: a fresh one per row, or, for an engine that is slow to build (the emulator's
 * namespaces take seconds to set up and tear down), one built on first use and shared by its rows in turn (a row
 * leaves the engine as it found it, and asserts so). A fresh engine is torn down after its row, a shared one by the
 * last row; a row that fails tears a shared engine down too, so the next row starts on a fresh one. Every teardown
 * must leave nothing behind.
 */
export class EngineRows {
  private engine: Promise<EngineUnderTest> | undefined;
  constructor(
    private readonly build: () => Promise<EngineUnderTest>,
    private readonly shared: boolean,
  ) {}

  async row(run: (e: EngineUnderTest) => Promise<void>): Promise<void> {
    this.engine ??= this.build();
    const e = await this.engine;
    try {
      await run(e);
    } catch (err) {
      const left = await this.close();
      throw left.length === 0 ? err : new AggregateError([err], `and left behind: ${left.join(", ")}`);
    }
    if (!this.shared) assert.deepEqual(await this.close(), [], "nothing left behind");
  }

  /** Tears the engine down (if built): what is left behind, which must be nothing. */
  async close(): Promise<string[]> {
    const e = this.engine;
    this.engine = undefined;
    return e ? (await e).close() : [];
  }
}
