/**
 * What the verb conformance suite (test/conformance/verbs.test.ts) needs from an engine: its ControlPlane, a way to
 * let time pass, the next Observation's parts, a way to offer a flow, and a teardown that lists what is left.
 */
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
