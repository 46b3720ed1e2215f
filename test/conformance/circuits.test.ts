/**
 * Circuits (models/services/circuits.ts) in every engine, with the same expectations: a circuit is a virtual link
 * with its rate reserved along the path it was given; its firewall rules apply to its pair only; removing it leaves
 * no virtual link and re-opens the pair; bad calls fail typed and change nothing. The substrate is the verb
 * conformance suite's ring (100 Mbit/s, 1 ms per link):
 *
 *     n0 ---- n1
 *     |        |
 *     n3 ---- n2
 *
 * The simulator always runs (a fresh one per test); the emulator as root, one emulator for both tests (test/conformance/emulator-engine.ts: its flows are iperf3
 * transfers to port 5201/tcp, the port the rule below names).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ControlError,
  InsufficientCapacityError,
  InvalidArgumentError,
  type NodePath,
  NoPathError,
} from "../../models/policies/types.ts";
import { Circuits } from "../../models/services/circuits.ts";
import { ring } from "../../sim/substrate/generators.ts";
import { emulatorEngine, emulatorSkipReason } from "./emulator-engine.ts";
import { EngineRows, type EngineUnderTest } from "./engine-under-test.ts";
import { simulatorEngine } from "./sim-engine.ts";

const SETTLE_NS = 200_000_000;
const topo = ring(4, { capacityBps: 100e6, delayNs: 1_000_000 });
const VIA_N3: NodePath = ["n0", "n3", "n2"];
const IPERF = { port: 5201, protocol: "tcp" as const };

const ENGINES: {
  name: string;
  skip: () => Promise<string | false>;
  build: () => Promise<EngineUnderTest>;
  /** Whether both tests run on one engine (the emulator: its namespaces take seconds to build and tear down). */
  shared: boolean;
}[] = [
  {
    name: "simulator (fluid)",
    skip: async () => false,
    build: async () => simulatorEngine(topo, "fluid"),
    shared: false,
  },
  { name: "emulator", skip: () => emulatorSkipReason(), build: () => emulatorEngine(topo), shared: true },
];

const circuitsOf = async (e: EngineUnderTest) =>
  (await e.observe()).virtualLinks.map((v) => [v.src, v.dst, v.path, v.rateBps]);

/** Failing calls: each rejects with its error class and leaves no circuit and no virtual link. */
const FAILURES: { name: string; call: (c: Circuits) => Promise<unknown>; error: typeof ControlError }[] = [
  {
    name: "a path that does not end at the destination",
    call: (c) => c.createCircuit("n0", "n2", ["n0", "n3"], { rateBps: 1e6 }),
    error: InvalidArgumentError,
  },
  {
    name: "a zero rate",
    call: (c) => c.createCircuit("n0", "n2", VIA_N3, { rateBps: 0 }),
    error: InvalidArgumentError,
  },
  {
    name: "a rate over the path's capacity",
    call: (c) => c.createCircuit("n0", "n2", VIA_N3, { rateBps: 200e6 }),
    error: InsufficientCapacityError,
  },
  {
    name: "a rule for an unknown circuit",
    call: (c) => c.updateFirewallRule("c9:n0->n2", { action: "deny" }),
    error: NoPathError,
  },
  { name: "removing an unknown circuit", call: (c) => c.removeCircuit("c9:n0->n2"), error: NoPathError },
];

for (const engine of ENGINES) {
  describe(`circuits, ${engine.name}`, async () => {
    const skip = await engine.skip();

    const rows = new EngineRows(engine.build, engine.shared);
    it(
      "reserves the rate on the given path, applies its rules to its pair only, and is removed exactly",
      {
        skip,
      },
      () =>
        rows.row(async (e) => {
          const circuits = new Circuits(e.ctl);
          const c = await circuits.createCircuit("n0", "n2", VIA_N3, { rateBps: 20e6 });
          await e.advance(SETTLE_NS);
          assert.deepEqual(await circuitsOf(e), [["n0", "n2", VIA_N3, 20e6]]);

          await circuits.updateFirewallRule(c.id, { action: "deny", ...IPERF });
          await e.advance(SETTLE_NS);
          assert.equal(await e.startFlow("n0", "n2", 10_000, IPERF), false, "the circuit's pair is refused");
          assert.equal(await e.startFlow("n2", "n0", 10_000, IPERF), true, "the reverse pair is not");
          assert.equal(await e.startFlow("n1", "n3", 10_000, IPERF), true, "nor another pair");
          assert.deepEqual(circuits.of(c.id)?.rules, [{ action: "deny", ...IPERF }]);

          await circuits.updateFirewallRule(c.id, { action: "allow", ...IPERF }); // replaces the deny
          assert.deepEqual(circuits.of(c.id)?.rules, [{ action: "allow", ...IPERF }]);
          await circuits.updateFirewallRule(c.id, { action: "deny", ...IPERF });

          await circuits.removeCircuit(c.id);
          await e.advance(SETTLE_NS);
          assert.deepEqual(await circuitsOf(e), []);
          assert.deepEqual(circuits.list(), []);
          assert.equal(await e.startFlow("n0", "n2", 10_000, IPERF), true, "the pair is open again");
        }),
    );

    it("fails typed and changes nothing on bad calls", { skip }, () =>
      rows.row(async (e) => {
        const circuits = new Circuits(e.ctl);
        for (const f of FAILURES) {
          await assert.rejects(f.call(circuits), f.error, f.name);
          await e.advance(SETTLE_NS);
          assert.deepEqual(await circuitsOf(e), [], `${f.name}: no virtual link left`);
          assert.deepEqual(circuits.list(), [], `${f.name}: no circuit`);
        }
      }),
    );

    if (engine.shared)
      it("its shared engine tears down leaving nothing behind", { skip }, async () => {
        assert.deepEqual(await rows.close(), [], "nothing left behind");
      });
  });
}
