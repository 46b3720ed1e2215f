/**
 * Verb conformance: every ControlPlane verb of the verb table (models/policies/verbs.ts), run against each engine's
 * ControlPlane with the same expectations (issue 13):
 *
 * - the effect is visible in the next Observation (or, for a query, in its answer);
 * - a bad call fails with the same typed ControlError and changes nothing;
 * - teardown is exact: rolling the action back through the journaling decorator leaves the state (virtual links,
 *   routes, mirrors, QoS classes, the pairs the firewall denies, VNA pools) as it was before; rolling back what a
 *   row prepared leaves it as the row found it, so the next row can run on the same engine (the
 *   emulator's rows share one); tearing an engine down leaves nothing behind.
 *
 * The substrate, drawn (100 Mbit/s, 1 ms per link, both directions):
 *
 *     n0 ---- n1
 *     |        |
 *     n3 ---- n2
 *
 * The simulator always runs; the emulator when root and its rows are switched on (test/conformance/emulator-engine.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { IntervalObservation } from "../../models/control/driver.ts";
import { journaling } from "../../models/policies/journal.ts";
import {
  type ControlError,
  type ControlPlane,
  type FirewallRule,
  InsufficientCapacityError,
  InvalidArgumentError,
  type NodePath,
  NoPathError,
  pairKey,
  UnknownNodeError,
} from "../../models/policies/types.ts";
import { type FlowMatchFields, matchesFlowFields } from "../../models/policies/verb-args.ts";
import { VERBS, type Verbs } from "../../models/policies/verbs.ts";
import { ring } from "../../sim/substrate/generators.ts";
import { emulatorEngine, emulatorSkipReason } from "./emulator-engine.ts";
import { EngineRows, type EngineUnderTest } from "./engine-under-test.ts";
import { simulatorEngine } from "./sim-engine.ts";

const MS = 1_000_000;
/** Engine time the suite lets pass for actions to settle: longer than every default setup latency (50 ms). */
const SETTLE_NS = 200 * MS;
const topo = ring(4, { capacityBps: 100e6, delayNs: 1 * MS });
const NODES = topo.nodes.map((n) => n.id).sort();
const PAIR = { src: "n0", dst: "n2" };
const VIA_N3: NodePath = ["n0", "n3", "n2"];

/** A verb's conformance case. */
interface VerbCase {
  /** State built (through the journal) before its mark, so not rolled back; its result goes to `act`. */
  prepare?(ctl: ControlPlane, e: EngineUnderTest): Promise<unknown>;
  act(ctl: ControlPlane, prepared: unknown): Promise<unknown>;
  /** After the action settled, before the observation: traffic that shows the effect. */
  exercise?(e: EngineUnderTest): Promise<void>;
  /** Asserts the effect in the next observation (and the action's or query's result). */
  visible(o: IntervalObservation, result: unknown): void;
  /** A call that must fail, with the error class every engine throws. */
  fails: { call(ctl: ControlPlane): unknown; error: typeof ControlError };
}

const CASES: Record<keyof Verbs, VerbCase> = {
  createVirtualLink: {
    act: (c) => Promise.resolve(c.createVirtualLink(PAIR.src, PAIR.dst, { path: VIA_N3 })),
    visible(o) {
      assert.deepEqual(
        o.virtualLinks.map((v) => [v.src, v.dst, v.path, v.ready]),
        [["n0", "n2", VIA_N3, true]],
      );
      assert.equal(o.vnaPool.get("n0")?.used, 1);
    },
    fails: { call: (c) => c.createVirtualLink("n0", "nX"), error: UnknownNodeError },
  },
  removeVirtualLink: {
    prepare: (c) => Promise.resolve(c.createVirtualLink(PAIR.src, PAIR.dst, { path: VIA_N3 })),
    act: (c, id) => Promise.resolve(c.removeVirtualLink(id as string)),
    visible(o) {
      assert.deepEqual(o.virtualLinks, []);
      assert.equal(o.vnaPool.get("n0")?.used, 0);
    },
    fails: { call: (c) => c.removeVirtualLink("no-such-link"), error: NoPathError },
  },
  setRoute: {
    act: (c) => Promise.resolve(c.setRoute(PAIR, VIA_N3)),
    visible: (o) => assert.deepEqual(o.routes.get(pairKey("n0", "n2")), VIA_N3),
    fails: { call: (c) => c.setRoute(PAIR, ["n0", "n2"]), error: NoPathError },
  },
  mirror: {
    act: (c) => Promise.resolve(c.mirror(PAIR, VIA_N3)),
    visible: (o) =>
      assert.deepEqual(
        o.mirrors.map((m) => [m.src, m.dst, m.path]),
        [["n0", "n2", VIA_N3]],
      ),
    fails: { call: (c) => c.mirror({ src: "n0", dst: "nX" }, VIA_N3), error: UnknownNodeError },
  },
  setQos: {
    act: (c) => Promise.resolve(c.setQos(PAIR, { priority: 1, rateBps: 10e6 })),
    visible: (o) =>
      assert.deepEqual(o.qos, [{ src: "n0", dst: "n2", priority: 1, rateBps: 10e6, ceilBps: null }]),
    fails: {
      call: (c) => c.setQos(PAIR, { priority: 1, rateBps: 20e6, ceilBps: 10e6 }),
      error: InvalidArgumentError,
    },
  },
  setFirewall: {
    act: (c) => Promise.resolve(c.setFirewall({ action: "deny", ...PAIR })),
    async exercise(e) {
      assert.equal(await e.startFlow("n0", "n2", 10_000), false, "the denied pair is refused");
      assert.equal(await e.startFlow("n2", "n0", 10_000), true, "the reverse pair is not");
      assert.equal(await e.startFlow("n1", "n3", 10_000), true, "another pair is not");
    },
    visible(o) {
      assert.deepEqual(o.firewall?.refused, [{ src: "n0", dst: "n2", flows: 1, bytes: 10_000 }]);
      assert.deepEqual(
        denied(o),
        PROBE_FLOWS.map((f) => `n0->n2 ${JSON.stringify(f)}`),
        "every flow of the pair, whatever its application, port or protocol",
      );
    },
    fails: { call: (c) => c.setFirewall({ action: "deny", src: "nX" }), error: UnknownNodeError },
  },
  probe: {
    act: (c) => Promise.resolve(c.probe(VIA_N3)),
    visible(o) {
      assert.equal(o.probes.length, 1);
      const p = o.probes[0]!;
      assert.deepEqual(p.path, VIA_N3);
      // Two hops of 1 ms each way: never less. What an engine adds (queues, the emulator's own latencies) is held
      // to account by each engine's own probe tests (the simulator's is exact, the emulator's against ping).
      assert.ok(p.rttNs !== null && p.rttNs >= 4 * MS && p.rttNs < 100 * MS, `RTT ${p.rttNs} ns`);
    },
    fails: { call: (c) => c.probe(["n0"]), error: NoPathError },
  },
  paths: {
    act: (c) => Promise.resolve(c.paths("n0", "n2", 3)),
    visible: (_o, paths) =>
      assert.deepEqual((paths as NodePath[]).map((p) => p.join(" ")).sort(), ["n0 n1 n2", "n0 n3 n2"]),
    fails: { call: (c) => c.paths("nX", "n2", 1), error: UnknownNodeError },
  },
  defaultPath: {
    act: (c) => Promise.resolve(c.defaultPath("n0", "n2")),
    visible: (_o, path) => assert.ok(["n0 n1 n2", "n0 n3 n2"].includes((path as NodePath).join(" "))),
    fails: { call: (c) => c.defaultPath("n0", "nX"), error: UnknownNodeError },
  },
};

/**
 * More rows for verbs whose arguments select different matches (named `<verb> <what>`): a virtual link with a
 * reserved rate (refused when it does not fit); a secure virtual link (a mutual-TLS tunnel carrying a flow); QoS classes matched by application (alone, and beside the pair's class and another match: rolled back to exactly those); firewall rules by application, by port and protocol, narrowing an earlier broader rule (rolled back exactly).
 */
const MORE_CASES: Record<string, VerbCase & { verb: keyof Verbs }> = {
  "createVirtualLink with a reserved rate": {
    verb: "createVirtualLink",
    act: (c) => Promise.resolve(c.createVirtualLink(PAIR.src, PAIR.dst, { path: VIA_N3, rateBps: 20e6 })),
    visible: (o) =>
      assert.deepEqual(
        o.virtualLinks.map((v) => [v.src, v.dst, v.path, v.rateBps, v.ready]),
        [["n0", "n2", VIA_N3, 20e6, true]],
      ),
    fails: {
      call: (c) => c.createVirtualLink(PAIR.src, PAIR.dst, { path: VIA_N3, rateBps: 200e6 }),
      error: InsufficientCapacityError,
    },
  },
  "createVirtualLink secure": {
    verb: "createVirtualLink",
    act: (c) => Promise.resolve(c.createVirtualLink(PAIR.src, PAIR.dst, { path: VIA_N3, secure: true })),
    async exercise(e) {
      // Through the mutual-TLS tunnel (the emulator's sidecars; the simulator's TLS cost model): the flow completes.
      assert.equal(await e.startFlow(PAIR.src, PAIR.dst, 100_000), true, "the pair's flow is carried");
    },
    visible: (o) =>
      assert.deepEqual(
        o.virtualLinks.map((v) => [v.src, v.dst, v.path, v.secure, v.ready]),
        [["n0", "n2", VIA_N3, true, true]],
      ),
    fails: { call: (c) => c.createVirtualLink(PAIR.src, "nX", { secure: true }), error: UnknownNodeError },
  },
  "setQos matched by application": {
    verb: "setQos",
    act: (c) =>
      Promise.resolve(c.setQos(PAIR, { priority: 0, rateBps: 10e6 }, { port: 7777, protocol: "udp" })),
    visible: (o) =>
      assert.deepEqual(o.qos, [
        {
          src: "n0",
          dst: "n2",
          match: { port: 7777, protocol: "udp" },
          priority: 0,
          rateBps: 10e6,
          ceilBps: null,
        },
      ]),
    fails: { call: (c) => c.setQos(PAIR, { priority: 0 }, { port: 0 }), error: InvalidArgumentError },
  },
  "setQos matched, beside the pair's class and another match": {
    verb: "setQos",
    async prepare(c) {
      await c.setQos(PAIR, { priority: 5, rateBps: 5e6 });
      await c.setQos(PAIR, { priority: 1 }, { port: 9000 });
    },
    act: (c) => Promise.resolve(c.setQos(PAIR, { priority: 0, rateBps: 10e6 }, { port: 7777 })),
    visible: (o) =>
      assert.deepEqual(
        o.qos?.map((q) => [q.match ?? null, q.priority, q.rateBps]),
        [
          [null, 5, 5e6],
          [{ port: 7777 }, 0, 10e6],
          [{ port: 9000 }, 1, null],
        ],
      ),
    fails: {
      call: (c) => c.setQos(PAIR, { priority: 0 }, { port: 7777, protocol: "sctp" as "tcp" }),
      error: InvalidArgumentError,
    },
  },
  "setFirewall by application": {
    verb: "setFirewall",
    act: (c) => Promise.resolve(c.setFirewall({ action: "deny", application: "game" })),
    async exercise(e) {
      for (let i = 0; i < 3; i++)
        assert.equal(await e.startFlow("n0", "n2", 1000, { application: "game" }), false, "game is denied");
      assert.equal(
        await e.startFlow("n0", "n2", 1000, { application: "tm" }),
        true,
        "another application is not",
      );
      assert.equal(await e.startFlow("n1", "n3", 1000, {}), true, "nor a flow of no application");
    },
    visible(o) {
      assert.deepEqual(o.firewall?.refused, [{ src: "n0", dst: "n2", flows: 3, bytes: 3000 }]);
      assert.deepEqual(
        o.firewall?.rules.map((r) => [r.rule.application, r.flows]),
        [["game", 3]],
      );
    },
    fails: { call: (c) => c.setFirewall({ action: "deny", application: "" }), error: InvalidArgumentError },
  },
  "setFirewall by port and protocol, after a broader deny": {
    verb: "setFirewall",
    prepare: (c) => Promise.resolve(c.setFirewall({ action: "deny", src: "n0" })),
    act: (c) => Promise.resolve(c.setFirewall({ action: "allow", src: "n0", port: 8080, protocol: "tcp" })),
    async exercise(e) {
      assert.equal(
        await e.startFlow("n0", "n2", 1000, { port: 8080, protocol: "tcp" }),
        true,
        "8080/tcp allowed",
      );
      assert.equal(
        await e.startFlow("n0", "n2", 1000, { port: 8081, protocol: "tcp" }),
        false,
        "other ports not",
      );
      assert.equal(await e.startFlow("n0", "n2", 1000, { port: 8080, protocol: "udp" }), false, "nor udp");
    },
    visible(o) {
      assert.deepEqual(o.firewall?.refused, [{ src: "n0", dst: "n2", flows: 2, bytes: 2000 }]);
      assert.deepEqual(
        o.firewall?.rules.map((r) => r.flows),
        [2, 1],
      );
    },
    fails: { call: (c) => c.setFirewall({ action: "allow", port: 70000 }), error: InvalidArgumentError },
  },
};

/** Flows the firewall state is read on: no fields, an application, a port and protocol, both. */
const PROBE_FLOWS: readonly FlowMatchFields[] = [
  {},
  { application: "game" },
  { application: "tm" },
  { port: 8080, protocol: "tcp" },
  { application: "game", port: 8080, protocol: "tcp" },
];

/** Flows the firewall refuses now, as `"src->dst <fields>"`: the last rule matching each flow decides (none: allowed). */
function denied(o: IntervalObservation): string[] {
  const rules: readonly FirewallRule[] = (o.firewall?.rules ?? []).map((r) => r.rule);
  const matches = (r: FirewallRule, s: string, d: string, f: FlowMatchFields) =>
    (r.src === undefined || r.src === s) && (r.dst === undefined || r.dst === d) && matchesFlowFields(r, f);
  return NODES.flatMap((s) =>
    NODES.flatMap((d) =>
      s === d
        ? []
        : PROBE_FLOWS.filter((f) => rules.findLast((r) => matches(r, s, d, f))?.action === "deny").map(
            (f) => `${pairKey(s, d)} ${JSON.stringify(f)}`,
          ),
    ),
  );
}

/** The state teardown must restore (virtual links without their ids and creation times). */
function stateOf(o: IntervalObservation) {
  return {
    virtualLinks: o.virtualLinks.map((v) => ({ src: v.src, dst: v.dst, path: v.path, rateBps: v.rateBps })),
    routes: [...o.routes].sort(),
    mirrors: o.mirrors.map((m) => ({ src: m.src, dst: m.dst, path: m.path })),
    qos: o.qos ?? [],
    denied: denied(o),
    vnaPool: [...o.vnaPool].sort(),
  };
}

const ENGINES: {
  name: string;
  skip: () => Promise<string | false>;
  build: () => Promise<EngineUnderTest>;
  /**
   * Whether its rows share one engine (built once, each row rolling back what it did) rather than building one each.
   * Not the simulator's: its firewall rows read the whole rule list, which keeps the allow rules a rollback adds.
   */
  shared?: boolean;
  /** Rows (by label) this engine's ControlPlane alone cannot show, with the reason and where it is tested. */
  elsewhere?: Partial<Record<string, string>>;
}[] = [
  { name: "simulator (fluid)", skip: async () => false, build: async () => simulatorEngine(topo, "fluid") },
  {
    name: "simulator (packet)",
    skip: async () => false,
    build: async () => simulatorEngine(topo, "packet"),
    elsewhere: {
      mirror:
        "the packet model has no mirrors: configs whose policies mirror are refused before the run (test/experiments/verb-checks.test.ts)",
      setQos:
        "the packet model has no QoS classes: configs whose policies set them are refused before the run (test/experiments/verb-checks.test.ts)",
      "setQos matched by application": "the packet model has no QoS classes (setQos above)",
      "setQos matched, beside the pair's class and another match":
        "the packet model has no QoS classes (setQos above)",
      "createVirtualLink with a reserved rate":
        "the packet model has no reservations: createVirtualLink with rateBps fails with UnsupportedActionError (sim/control/control-plane.ts)",
    },
  },
  {
    name: "emulator",
    skip: () => emulatorSkipReason(),
    build: () => emulatorEngine(topo),
    shared: true,
    elsewhere: {
      "setFirewall by application":
        "the emulator matches an application by the port its flows are sent to in a run (emulate/application-ports.ts); the suite's iperf3 flows carry none: test/emulate/firewall.test.ts checks rules by application on namespaces",
      "setFirewall by port and protocol, after a broader deny":
        "the suite's flows go to iperf3's one port: test/emulate/firewall.test.ts checks rules by port and protocol on namespaces",
    },
  },
];

/**
 * One row on an engine that earlier rows used: the action's effect, its exact rollback, the typed error, and, at
 * the end, the rollback of what the row prepared, to the state the row started from.
 */
async function verbRow(e: EngineUnderTest, c: VerbCase): Promise<void> {
  const j = journaling(e.ctl);
  const origin = j.mark();
  let start: ReturnType<typeof stateOf> | undefined;
  if (c.prepare) {
    await e.advance(SETTLE_NS);
    start = stateOf(await e.observe());
  }
  const prepared = await c.prepare?.(j, e);
  await e.advance(SETTLE_NS);
  const before = stateOf(await e.observe());
  const mark = j.mark();
  const result = await c.act(j, prepared);
  await e.advance(SETTLE_NS);
  await c.exercise?.(e);
  c.visible(await e.observe(), result);

  await j.rollback(mark);
  await e.advance(SETTLE_NS);
  assert.deepEqual(stateOf(await e.observe()), before, "rolled back to where it was");

  await assert.rejects(async () => c.fails.call(e.ctl), c.fails.error);
  await e.advance(SETTLE_NS);
  assert.deepEqual(stateOf(await e.observe()), before, "a failed call changes nothing");

  if (start) {
    await j.rollback(origin);
    await e.advance(SETTLE_NS);
    assert.deepEqual(stateOf(await e.observe()), start, "what the row prepared rolled back too");
  }
}

describe("every ControlPlane verb behaves the same in every engine", () => {
  it("the suite has one case per verb of the verb table", () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(VERBS).sort());
  });

  for (const engine of ENGINES) {
    describe(engine.name, async () => {
      const skip = await engine.skip();
      const engineRows = new EngineRows(engine.build, engine.shared ?? false);
      const rows: [string, VerbCase][] = [...Object.entries(CASES), ...Object.entries(MORE_CASES)];
      for (const [label, c] of rows) {
        const why = skip || (engine.elsewhere?.[label] ?? false);
        it(`${label}: visible in the next observation, typed errors, exact teardown`, { skip: why }, () =>
          engineRows.row((e) => verbRow(e, c)),
        );
      }
      if (engine.shared)
        it("its shared engine tears down leaving nothing behind", { skip }, async () => {
          assert.deepEqual(await engineRows.close(), [], "nothing left behind");
        });
    });
  }
});
