/**
 * QoS classes matched by application (setQos's `match`, sim/control/control-plane.ts): a class holds only the
 * pair's flows whose server port (and protocol, where given) it matches, ahead of the pair's class without a match;
 * one class per match may coexist on a pair, and removing one sends its flows to what is left.
 *
 * On the diamond of fixture.ts: s -> a -> t is the default path of s->t and of u->v, 1 Gbit/s.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { journaling } from "../../../models/policies/journal.ts";
import { InvalidArgumentError } from "../../../models/policies/types.ts";
import type { FlowMatchFields } from "../../../models/policies/verb-args.ts";
import { MB, MS, setup } from "./fixture.ts";

const GAME: FlowMatchFields = { application: "client->game", port: 7777, protocol: "udp" };
const BULK: FlowMatchFields = { application: "stream->client", port: 443, protocol: "tcp" };
const ST = { src: "s", dst: "t" };

/** The fixture with flows that carry fields: `start(src, dst, fields)`, 1000 MB each. */
function withFields() {
  const c = setup();
  let key = 1000;
  const node = (id: string) => c.topo.node(id);
  const start = (src: string, dst: string, fields?: FlowMatchFields) =>
    c.ctl.startFlow(node(src), node(dst), 1000 * MB, 0, key++, fields);
  return { ...c, start };
}

describe("QoS classes matched by application (simulator)", () => {
  it("lifts only the pair's flows that match, leaving the pair's other flows with the rest", () => {
    const { sim, ctl, net, start } = withFields();
    const game = start("s", "t", GAME);
    const bulk = start("s", "t", BULK);
    const others = Array.from({ length: 8 }, () => start("u", "v", BULK));
    sim.run(1 * MS);
    assert.equal(net.rateOf(game), 1e8, "10 flows share s->a->t");
    ctl.setQos(ST, { priority: 0, rateBps: 4e8 }, { port: 7777 });
    sim.run(20 * MS);
    assert.ok(net.rateOf(game) >= 0.95 * 4e8, `game ${net.rateOf(game)}`);
    assert.equal(net.rateOf(bulk), net.rateOf(others[0]!), "the pair's bulk flow is not lifted");
    assert.ok(Math.abs(9 * net.rateOf(bulk) + net.rateOf(game) - 1e9) < 1, "the link stays full");
    assert.deepEqual(ctl.qosClasses(), [
      { src: "s", dst: "t", match: { port: 7777 }, priority: 0, rateBps: 4e8, ceilBps: null },
    ]);
  });

  it("holds new flows by port and protocol, and no flow that carries no port", () => {
    const { sim, ctl, net, start } = withFields();
    ctl.setQos(ST, { priority: 0, rateBps: 5e8 }, { port: 7777, protocol: "udp" });
    sim.run(20 * MS);
    const flows = [
      start("s", "t", GAME),
      start("s", "t", { ...GAME, protocol: "tcp" }),
      start("s", "t", {}),
      start("s", "t"),
    ];
    sim.run(21 * MS);
    const [game, ...rest] = flows.map((f) => net.rateOf(f));
    assert.ok(game! >= 0.95 * 5e8, `game ${game}`);
    for (const r of rest) assert.ok(Math.abs(r - rest[0]!) < 1 && r < 2e8, `${rest}`);
  });

  it("keeps one class per match beside the pair's class, which holds the flows no match takes", () => {
    const { sim, ctl, net, start } = withFields();
    const game = start("s", "t", GAME);
    const bulk = start("s", "t", BULK);
    const plain = start("s", "t", {});
    const others = Array.from({ length: 7 }, () => start("u", "v"));
    ctl.setQos(ST, { priority: 7, rateBps: 1e8, ceilBps: 1e8 });
    ctl.setQos(ST, { priority: 0, rateBps: 3e8, ceilBps: 3e8 }, { port: 7777 });
    ctl.setQos(ST, { priority: 1, rateBps: 2e8, ceilBps: 2e8 }, { port: 443, protocol: "tcp" });
    sim.run(20 * MS);
    assert.deepEqual(
      ctl.qosClasses().map((q) => [q.match ?? null, q.rateBps]),
      [
        [null, 1e8],
        [{ port: 443, protocol: "tcp" }, 2e8],
        [{ port: 7777 }, 3e8],
      ],
    );
    const rates = () => [game, bulk, plain, others[0]!].map((f) => Math.round(net.rateOf(f)));
    assert.deepEqual(
      rates(),
      [3e8, 2e8, 1e8, Math.round(4e8 / 7)],
      "each class its own; the rest best effort",
    );

    // Removing the game's class sends its flow to the pair's class (capped with the plain flow), not best effort.
    ctl.setQos(ST, null, { port: 7777 });
    sim.run(21 * MS);
    assert.deepEqual(rates(), [5e7, 2e8, 5e7, 1e8]);
    assert.deepEqual(
      ctl.qosClasses().map((q) => q.match ?? null),
      [null, { port: 443, protocol: "tcp" }],
    );
  });

  it("rolls back a matched class to the previous one of the same pair and match, leaving the others", async () => {
    const { sim, ctl } = withFields();
    const j = journaling(ctl);
    await j.setQos(ST, { priority: 2 }, { port: 7777 });
    await j.setQos(ST, { priority: 5 });
    const mark = j.mark();
    await j.setQos(ST, { priority: 0, rateBps: 1e8 }, { port: 7777 });
    await j.setQos(ST, { priority: 1 }, { port: 443 });
    sim.run(20 * MS);
    assert.equal(ctl.qosClasses().length, 3);
    await j.rollback(mark);
    sim.run(40 * MS);
    assert.deepEqual(ctl.qosClasses(), [
      { src: "s", dst: "t", priority: 5, rateBps: null, ceilBps: null },
      { src: "s", dst: "t", match: { port: 7777 }, priority: 2, rateBps: null, ceilBps: null },
    ]);
  });

  it("refuses a bad match with the field, changing nothing", () => {
    const { sim, ctl } = withFields();
    for (const match of [{ port: 0 }, { port: 80, protocol: "sctp" }, { port: 1.5 }])
      assert.throws(
        () => ctl.setQos(ST, { priority: 0 }, match as never),
        (e: unknown) => e instanceof InvalidArgumentError && /setQos: match\.(port|protocol)/.test(e.message),
      );
    sim.run(20 * MS);
    assert.deepEqual(ctl.qosClasses(), []);
  });
});
