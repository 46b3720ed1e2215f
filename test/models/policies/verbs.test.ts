/**
 * The verb table and what derives from it: action kinds, setup latencies, the config schema, both engines'
 * methods; and a verb added by one table entry (test fixture: setMtu, shape) reaching types, latencies,
 * recording, scaling and journaling.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationControlPlane } from "../../../emulate/control-plane.ts";
import { scaling } from "../../../emulate/scaled-control-plane.ts";
import { jsonSchemaText } from "../../../experiments/config/json-schema.ts";
import { setupLatencySchema } from "../../../experiments/config/schema.ts";
import { journaling } from "../../../models/policies/journal.ts";
import { type ActionRecordOf, recording } from "../../../models/policies/recording.ts";
import {
  type ActionKindOf,
  actionKinds,
  type ControlPlaneOf,
  latencyDecls,
  type NamedArgsOf,
  type SetupLatenciesOf,
} from "../../../models/policies/verb-table.ts";
import {
  ACTION_KINDS,
  DEFAULT_SETUP_LATENCIES,
  SETUP_LATENCY_KEYS,
  setupLatencyKey,
  VERBS,
} from "../../../models/policies/verbs.ts";
import { SimControlPlane } from "../../../sim/control/control-plane.ts";
import { EXTENDED, type Extended, extendedSetup } from "./verb-fixture.ts";

const MS = 1_000_000;

describe("the verb table", () => {
  it("lists the actions in the order results count them, queries excluded", () => {
    assert.deepEqual(ACTION_KINDS, [
      "createVirtualLink",
      "removeVirtualLink",
      "setRoute",
      "mirror",
      "setQos",
      "setFirewall",
      "probe",
    ]);
  });

  it("declares one setup latency per configurable action, with the defaults configs have always had", () => {
    assert.deepEqual(SETUP_LATENCY_KEYS, ["virtualLink", "route", "mirror", "qos", "firewall"]);
    assert.deepEqual(DEFAULT_SETUP_LATENCIES, {
      virtualLink: 50 * MS,
      route: 10 * MS,
      mirror: 10 * MS,
      qos: 10 * MS,
      firewall: 10 * MS,
    });
    assert.equal(setupLatencyKey("removeVirtualLink"), undefined);
    assert.equal(setupLatencyKey("probe"), undefined);
  });

  const engines: { name: string; proto: object }[] = [
    { name: "the simulator", proto: SimControlPlane.prototype },
    { name: "the emulator", proto: EmulationControlPlane.prototype },
  ];
  for (const [name, decl] of Object.entries(VERBS)) {
    it(`${name} names each argument once and is implemented by both engines`, () => {
      const names = decl.args.map((a) => a.name);
      assert.equal(new Set(names).size, names.length);
      assert.ok(decl.doc.length > 0);
      for (const e of engines) {
        const method = (e.proto as Record<string, unknown>)[name];
        assert.equal(typeof method, "function", `${e.name} lacks ${name}`);
      }
    });
  }

  it("makes the config's control.setupLatency from its latency declarations (JSON schema included)", () => {
    const schema = JSON.parse(jsonSchemaText()) as {
      properties: { control: { properties: { setupLatency: { properties: object } } } };
    };
    const fields = schema.properties.control.properties.setupLatency.properties as Record<
      string,
      { default: string; description: string }
    >;
    assert.deepEqual(Object.keys(fields), SETUP_LATENCY_KEYS);
    for (const d of latencyDecls(VERBS)) {
      assert.equal(fields[d.key]?.default, d.default);
      assert.equal(fields[d.key]?.description, d.doc);
    }
  });
});

describe("a verb added by one table entry (setMtu, shape)", () => {
  it("reaches the types: the ControlPlane, the action kinds, the setup latencies, the record's arguments", () => {
    // Compile-time: these lines type-check only because the table has the entries.
    const kinds: ActionKindOf<Extended>[] = ["setMtu", "shape"];
    const latencies: SetupLatenciesOf<Extended> = {
      ...DEFAULT_SETUP_LATENCIES,
      mtu: 20 * MS,
      shaper: 5 * MS,
    };
    const args: NamedArgsOf<Extended["setMtu"]> = { link: "s->a", mtuBytes: 9000 };
    const { ctl } = extendedSetup();
    const typed: ControlPlaneOf<Extended> = ctl;
    assert.deepEqual(actionKinds(EXTENDED).slice(-3), ["probe", ...kinds]);
    assert.equal(latencies.mtu, 20 * MS);
    assert.equal(args.mtuBytes, 9000);
    assert.equal(typeof typed.setMtu, "function");
  });

  it("reaches the setup latencies and the config schema with its default and doc", () => {
    assert.deepEqual(
      latencyDecls(EXTENDED).map((d) => d.key),
      [...SETUP_LATENCY_KEYS, "mtu", "shaper"],
    );
    const parsed = setupLatencySchema(EXTENDED).parse({ route: "1ms" });
    assert.deepEqual(parsed, {
      virtualLink: "50ms",
      route: "1ms",
      mirror: "10ms",
      qos: "10ms",
      firewall: "10ms",
      mtu: "20ms",
      shaper: "5ms",
    });
  });

  it("reaches recording: the action becomes a record with its arguments by name and its latency", () => {
    const { ctl, sim } = extendedSetup();
    const records: ActionRecordOf<Extended>[] = [];
    const rec = recording(
      ctl,
      { sink: (r) => records.push(r), clockNs: () => sim.now, setupLatencyNs: { mtu: 20 * MS } },
      EXTENDED,
    );
    rec.setMtu("s->a", 9000);
    assert.throws(() => rec.setMtu("s->a", 10), /below 68 bytes/);
    assert.deepEqual(records, [
      {
        timeNs: 0,
        verb: "setMtu",
        args: { link: "s->a", mtuBytes: 9000 },
        outcome: "ok",
        setupLatency: { key: "mtu", ns: 20 * MS },
      },
      {
        timeNs: 0,
        verb: "setMtu",
        args: { link: "s->a", mtuBytes: 10 },
        outcome: "error",
        error: { name: "ControlError", message: "setMtu: s->a: MTU 10 is below 68 bytes" },
        setupLatency: { key: "mtu", ns: 20 * MS },
      },
    ]);
  });

  it("reaches scaling: each field with a unit is rescaled, the MTU (a packet size) is not", () => {
    const { ctl } = extendedSetup();
    const scaled = scaling(ctl, { rateScale: 0.01, timeCompression: 10 }, EXTENDED);
    scaled.shape("s->a", { rateBps: 1e9, burstBytes: 100_000, latencyNs: 50 * MS });
    scaled.setMtu("s->a", 9000);
    assert.deepEqual(ctl.shaper("s->a"), { rateBps: 1e7, burstBytes: 100, latencyNs: 5 * MS });
    assert.equal(ctl.mtu("s->a"), 9000);
  });

  it("reaches journaling: a rollback restores each link's previous MTU and shaper", () => {
    const { ctl } = extendedSetup();
    const j = journaling(ctl, EXTENDED);
    j.setMtu("s->a", 9000);
    const mark = j.mark();
    j.setMtu("s->a", 4000);
    j.shape("a->t", { rateBps: 1e6, burstBytes: 1500, latencyNs: MS });
    j.setMtu("a->t", 2000);
    assert.equal(j.rollback(mark), undefined, "synchronous over the simulator");
    assert.deepEqual([ctl.mtu("s->a"), ctl.shaper("a->t"), ctl.mtu("a->t")], [9000, null, 1500]);
    j.rollback(0);
    assert.equal(ctl.mtu("s->a"), 1500);
    assert.equal(j.entries().length, 0);
  });
});
