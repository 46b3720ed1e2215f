/**
 * The emulator behind the verb conformance suite (test/conformance/verbs.test.ts): its ControlPlane on real
 * namespaces, as root, built as /work/wt/_notes/verbs-emu.md describes (`up`, `EmulationControlPlane.attach`,
 * `sync` for probe answers and mirror counters, `observeVerbs` for the Observation's verb parts).
 *
 * On since the emulator's verbs landed (issue 13); {@link EMULATOR_ROWS} switches the rows off.
 * The parts of that branch's API this file uses are declared in {@link EmulatorVerbParts} (it compiles without
 * them); a missing one fails the row with its name. Its Observation parts are passed through as the engine gives
 * them: a verb whose effect the emulator does not report fails its row, as it should. A flow is offered as the
 * engine's flow ledger offers it: counted by the control plane's firewall (`admits`), then sent with iperf3.
 */
import { FEATURES, type Feature, TOOLS, type ToolName } from "../../emulate/capabilities.ts";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import type { IntervalObservation } from "../../models/control/driver.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { capabilities, leftovers, needs } from "../helpers/emulation.ts";
import type { EngineUnderTest } from "./engine-under-test.ts";

/** The port the suite's flows are sent to (iperf3's default), as the firewall sees them on the wire. */
const IPERF3_PORT = 5201;

/** Whether the emulator's rows run (as root, with the tools they need). */
export const EMULATOR_ROWS = true;

/** Why the emulator's rows skip here, or false when they run. */
export async function emulatorSkipReason(): Promise<string | false> {
  if (!EMULATOR_ROWS) {
    return "the emulator's rows are off until its verbs land (issue 13, verbs-emu): EMULATOR_ROWS in test/conformance/emulator-engine.ts";
  }
  // nftables and nft are probed on the verbs-emu branch; before it they are left out of the list.
  const features = ["veth", "vxlan", "htb", "u32", "mirred", "nftables"].filter((f): f is Feature =>
    (FEATURES as readonly string[]).includes(f),
  );
  const tools = ["ping", "nft", "iperf3"].filter((t): t is ToolName =>
    (TOOLS as readonly string[]).includes(t),
  );
  return needs(features, tools);
}

/** What the suite uses of the emulator's ControlPlane beyond main's (the verbs-emu branch adds these). */
interface EmulatorVerbParts {
  sync(): Promise<void>;
  observeVerbs(
    consume: boolean,
  ): Partial<Pick<IntervalObservation, "probes" | "mirrors" | "qos" | "firewall">>;
  close(): void;
}

function verbParts(ctl: EmulationControlPlane): EmulatorVerbParts {
  const c = ctl as unknown as Partial<EmulatorVerbParts>;
  for (const m of ["sync", "observeVerbs", "close"] as const) {
    if (typeof c[m] !== "function")
      throw new Error(`the emulator's ControlPlane has no ${m}() (verbs-emu not merged)`);
  }
  return c as EmulatorVerbParts;
}

export async function emulatorEngine(topo: Topology): Promise<EngineUnderTest> {
  const run = await up(topo, { capabilities: await capabilities() });
  // A secure virtual link tunnels the suite's iperf3 connections (the run has no traffic agents).
  const ctl = EmulationControlPlane.attach(run.runId, { securePorts: [IPERF3_PORT] });
  const parts = verbParts(ctl);
  const addr = (id: string) => run.nodes.find((n) => n.id === id)!.addresses[0]!;
  for (const n of run.nodes) await exec(run.runId, n.id, ["iperf3", "-s", "-D", "-B", addr(n.id)]);
  await new Promise((r) => setTimeout(r, 300));
  return {
    name: "emulator",
    ctl,
    async advance(ns: number) {
      await new Promise((r) => setTimeout(r, ns / 1e6));
      await parts.sync();
    },
    observe(): IntervalObservation {
      return {
        traffic: [],
        links: [],
        virtualLinks: ctl.virtualLinks(),
        routes: ctl.routes(),
        vnaPool: ctl.vnaPool(),
        probes: [],
        mirrors: [],
        ...parts.observeVerbs(true),
      };
    },
    // As the engine's flow ledger does for every flow: the control plane decides and counts it (the Observation's
    // firewall), then the flow is sent for real and nft lets it through or refuses it; the two must agree.
    async startFlow(src: string, dst: string, sizeBytes: number) {
      const admitted = ctl.admits(src, dst, sizeBytes, { protocol: "tcp", port: IPERF3_PORT });
      const argv = ["iperf3", "-c", addr(dst), "-B", addr(src), "-n", String(sizeBytes)];
      const sent = (await exec(run.runId, src, argv)).code === 0;
      if (sent !== admitted)
        throw new Error(
          `${src}->${dst}: the control plane ${admitted ? "admits" : "refuses"} it, nft did not`,
        );
      return sent;
    },
    async close() {
      parts.close();
      await down(run.runId);
      return leftovers(run.runId);
    },
  };
}
