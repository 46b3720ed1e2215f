/**
 * The recording decorator over the simulator's real ControlPlane (diamond topology, test/sim/control/fixture.ts),
 * and the actions.csv rows its records become.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ACTIONS_CSV_HEADER, actionsCsv } from "../../../experiments/actions-csv.ts";
import { type ActionRecord, recording } from "../../../models/policies/recording.ts";
import { decorate } from "../../../models/policies/verb-decorator.ts";
import { DEFAULT_SETUP_LATENCIES, VERBS } from "../../../models/policies/verbs.ts";
import { MS, setup } from "../../sim/control/fixture.ts";

function recorded(opts: { wallClockNs?: () => number } = {}) {
  const s = setup();
  const records: ActionRecord[] = [];
  const ctl = recording(s.ctl, {
    sink: (r) => records.push(r),
    clockNs: () => s.sim.now,
    setupLatencyNs: DEFAULT_SETUP_LATENCIES,
    ...opts,
  });
  return { ...s, records, rec: ctl };
}

describe("recording", () => {
  it("records each action with its time, arguments by name, outcome, result and setup latency", () => {
    const { sim, rec, records } = recorded();
    // Keys given out of order: the record holds them sorted.
    rec.createVirtualLink("s", "t", { rateBps: 1e8, path: ["s", "b", "t"] });
    sim.run(3 * MS);
    rec.removeVirtualLink("vl-0");
    rec.probe(["s", "a", "t"]);
    assert.deepEqual(records, [
      {
        timeNs: 0,
        verb: "createVirtualLink",
        args: { src: "s", dst: "t", opts: { path: ["s", "b", "t"], rateBps: 1e8 } },
        outcome: "ok",
        result: "vl-0",
        setupLatency: { key: "virtualLink", ns: 50 * MS },
      },
      { timeNs: 3 * MS, verb: "removeVirtualLink", args: { id: "vl-0" }, outcome: "ok", setupLatency: null },
      { timeNs: 3 * MS, verb: "probe", args: { path: ["s", "a", "t"] }, outcome: "ok", setupLatency: null },
    ]);
    assert.deepEqual(Object.keys(records[0]!.args.opts!), ["path", "rateBps"]);
  });

  it("records a refused action with its error's class and message, and rethrows it", () => {
    const { rec, records } = recorded();
    assert.throws(() => rec.setRoute({ src: "s", dst: "x" }, ["s", "x"]), { name: "UnknownNodeError" });
    assert.deepEqual(records[0]?.error, { name: "UnknownNodeError", message: 'unknown node "x"' });
    assert.equal(records[0]?.outcome, "error");
  });

  it("leaves queries unrecorded", () => {
    const { rec, records } = recorded();
    assert.deepEqual(rec.paths("s", "t", 1), [["s", "a", "t"]]);
    assert.deepEqual(rec.defaultPath("s", "t"), ["s", "a", "t"]);
    assert.equal(records.length, 0);
  });

  it("keeps the arguments as they were called, whatever the caller does with its objects afterwards", () => {
    const { rec, records } = recorded();
    const path = ["s", "b", "t"];
    rec.setRoute({ src: "s", dst: "t" }, path);
    path[1] = "a";
    assert.deepEqual(records[0]?.args, { pair: { src: "s", dst: "t" }, path: ["s", "b", "t"] });
  });

  it("measures wall latency with an injected wall clock, from the call until the action settles", async () => {
    const s = setup();
    let wall = 0;
    const records: ActionRecord[] = [];
    const slow = decorate(VERBS, s.ctl, (_v, d, args, call) =>
      d.kind === "action"
        ? Promise.resolve().then(() => {
            wall += 7;
            return call(args);
          })
        : call(args),
    );
    const rec = recording(slow, {
      sink: (r) => records.push(r),
      clockNs: () => s.sim.now,
      wallClockNs: () => wall,
    });
    const id = rec.createVirtualLink("s", "t");
    assert.ok(id instanceof Promise, "an asynchronous ControlPlane stays asynchronous");
    assert.equal(records.length, 0, "recorded once it settles");
    assert.equal(await id, "vl-0");
    assert.equal(records[0]?.wallNs, 7);
    assert.deepEqual(records[0]?.setupLatency, { key: "virtualLink", ns: null });
  });
});

describe("actions.csv", () => {
  it("has a header and one deterministic row per record, JSON columns quoted", () => {
    const { sim, rec, records } = recorded();
    rec.createVirtualLink("s", "t", { path: ["s", "b", "t"] });
    sim.run(MS);
    assert.throws(() => rec.removeVirtualLink("vl-9"));
    assert.equal(
      actionsCsv(records),
      [
        ACTIONS_CSV_HEADER,
        '0,createVirtualLink,ok,,,virtualLink,50000000,,"""vl-0""","{""dst"":""t"",""opts"":{""path"":[""s"",""b"",""t""]},""src"":""s""}"',
        `${MS},removeVirtualLink,error,NoPathError,"removeVirtualLink: no virtual link ""vl-9""",,,,,"{""id"":""vl-9""}"`,
        "",
      ].join("\n"),
    );
  });
});
