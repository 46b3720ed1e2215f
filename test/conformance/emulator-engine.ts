/**
 * The emulator behind the verb conformance suite (test/conformance/verbs.test.ts): its ControlPlane on real
 * namespaces, as root.
 *
 * Switched off until the emulator's verbs land (issue 13, branch verbs-emu): the rows then run as root with the
 * emulator's ControlPlane and data plane built by {@link emulatorEngine}, and skip with the reason below
 * elsewhere. To switch them on, set {@link EMULATOR_ROWS} to true and fill in `emulatorEngine` (see
 * /work/wt/_notes/verbs-emu.md for how their ControlPlane is constructed).
 */
import type { Topology } from "../../sim/substrate/topology.ts";
import { needs } from "../helpers/emulation.ts";
import type { EngineUnderTest } from "./engine-under-test.ts";

/** Whether the emulator's rows run (as root); off until the emulator implements every verb. */
export const EMULATOR_ROWS = false;

/** Why the emulator's rows skip here, or false when they run. */
export async function emulatorSkipReason(): Promise<string | false> {
  if (!EMULATOR_ROWS) {
    return "the emulator's rows are off until its verbs land (issue 13, verbs-emu): EMULATOR_ROWS in test/conformance/emulator-engine.ts";
  }
  return needs(["veth", "htb", "vxlan"]);
}

export async function emulatorEngine(_topo: Topology): Promise<EngineUnderTest> {
  throw new Error("emulatorEngine: not wired yet (see the module doc)");
}
