/**
 * The journaling decorator on the simulator's real ControlPlane (diamond topology, test/sim/control/fixture.ts):
 * a sequence of actions after a mark is undone exactly — virtual links, routes, mirrors, firewall, VNA pool and
 * reservations equal what they were at the mark once the undo calls' setup latencies have elapsed.
 *
 *        u        v
 *        |        |
 *        s - a -- t
 *         \      /
 *          b ---'
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JournalError, type Journaled, journaling } from "../../../models/policies/journal.ts";
import { type ControlPlane, LinkDownError, NoPathError } from "../../../models/policies/types.ts";
import { decorate } from "../../../models/policies/verb-decorator.ts";
import { VERBS, type Verbs } from "../../../models/policies/verbs.ts";
import { MS, setup } from "../../sim/control/fixture.ts";

type Setup = ReturnType<typeof setup>;

/** Everything a rollback must restore, as plain data (virtual links without their ids and creation times). */
function state({ ctl, net, topo }: Setup) {
  return {
    virtualLinks: ctl.virtualLinks().map(({ id: _id, createdNs: _c, ...rest }) => rest),
    routes: [...ctl.routes()],
    mirrors: ctl.takeMirrorStats().map((m) => ({ src: m.src, dst: m.dst, path: m.path })),
    denied: ctl.deniedPairs(),
    deniedByFields: ["s", "u"].flatMap((src) =>
      FIELDS.filter((f) => !ctl.firewallAllows(src, "t", f)).map((f) => `${src}->t ${JSON.stringify(f)}`),
    ),
    vnaPool: [...ctl.vnaPool()],
    unreservedBps: topo.links.map((_, l) => net.unreservedBps(l)),
  };
}

/** Flows the firewall's state is read on besides their pair. */
const FIELDS = [{ application: "x" }, { application: "y" }, { port: 80, protocol: "tcp" }, { port: 81 }];

/** Lets every pending setup latency elapse. */
const settle = (s: Setup) => s.sim.run(s.sim.now + 100 * MS);

const st = { src: "s", dst: "t" };
const uv = { src: "u", dst: "v" };

const sequences: {
  name: string;
  /** Actions before the mark (journaled too). */
  before: (j: ControlPlane) => void;
  after: (j: ControlPlane) => void;
}[] = [
  {
    name: "virtual links created, one with a reservation, and one removed",
    before: () => {},
    after: (j) => {
      const a = j.createVirtualLink("s", "t", { path: ["s", "b", "t"], rateBps: 300e6 }) as string;
      j.createVirtualLink("u", "v", { path: ["u", "s", "a", "t", "v"] });
      j.removeVirtualLink(a);
    },
  },
  {
    name: "a route changed twice and one pinned where the default applied",
    before: (j) => j.setRoute(st, ["s", "b", "t"]),
    after: (j) => {
      j.setRoute(st, ["s", "a", "t"]);
      j.setRoute(st, null);
      j.setRoute(uv, ["u", "s", "b", "t", "v"]);
    },
  },
  {
    name: "a mirror set, replaced and removed, and a probe sent",
    before: (j) => j.mirror(uv, ["u", "s", "a", "t", "v"]),
    after: (j) => {
      j.mirror(st, ["s", "b", "t"]);
      j.mirror(uv, ["u", "s", "b", "t", "v"]);
      j.mirror(st, null);
      j.probe(["s", "a", "t"]);
    },
  },
  {
    name: "firewall rules over overlapping scopes",
    before: (j) => j.setFirewall({ action: "deny", dst: "t" }),
    after: (j) => {
      j.setFirewall({ action: "allow", src: "s", dst: "t" });
      j.setFirewall({ action: "deny", src: "u" });
      j.setFirewall({ action: "allow" });
    },
  },
  {
    name: "firewall rules by application and port under broader ones (undone without touching other applications)",
    before: (j) => {
      j.setFirewall({ action: "deny" });
      j.setFirewall({ action: "allow", src: "u" });
      j.setFirewall({ action: "allow", src: "s", application: "y" });
    },
    after: (j) => {
      j.setFirewall({ action: "deny", src: "s", application: "x" });
      j.setFirewall({ action: "allow", application: "x", port: 80, protocol: "tcp" });
      j.setFirewall({ action: "deny", port: 81 });
    },
  },
  {
    name: "a virtual link created before the mark removed after it (re-created under a new id)",
    before: (j) => void j.createVirtualLink("s", "t", { path: ["s", "b", "t"], rateBps: 100e6 }),
    after: (j) => {
      const [vl] = (j as Journaled<Verbs>).entries().map((e) => e.result as string);
      j.removeVirtualLink(vl!);
      j.setRoute(st, ["s", "a", "t"]);
    },
  },
];

describe("journaling over the simulator's control plane", () => {
  for (const seq of sequences) {
    it(`undoes ${seq.name} exactly`, () => {
      const s = setup();
      const j = journaling(s.ctl);
      seq.before(j);
      settle(s);
      const atMark = state(s);
      const mark = j.mark();
      seq.after(j);
      settle(s);
      assert.notDeepEqual(state(s), atMark, "the actions changed something");
      assert.equal(j.rollback(mark), undefined);
      settle(s);
      assert.deepEqual(state(s), atMark);
      assert.equal(j.entries().length, mark);
    });
  }

  it("rolls back to the start after a rollback re-created a removed link (its new id is followed)", () => {
    const s = setup();
    const empty = state(s);
    const j = journaling(s.ctl);
    const vl = j.createVirtualLink("s", "t", { path: ["s", "b", "t"] }) as string; // the simulator answers at once
    const mark = j.mark();
    j.removeVirtualLink(vl);
    j.rollback(mark);
    assert.deepEqual(
      s.ctl.virtualLinks().map((v) => v.id),
      ["vl-1"],
    );
    j.rollback(0);
    settle(s);
    assert.deepEqual(state(s), empty);
  });

  it("a rollback told of refusals goes on past an undo the engine refuses (a removed link's old path went down)", () => {
    const s = setup();
    const j = journaling(s.ctl);
    const vl = j.createVirtualLink("s", "t", { path: ["s", "a", "t"] }) as string;
    settle(s);
    const mark = j.mark();
    j.setRoute(uv, ["u", "s", "b", "t", "v"]);
    j.removeVirtualLink(vl); // a failover moves what crossed a->t ...
    j.createVirtualLink("s", "t", { path: ["s", "b", "t"] });
    settle(s);
    s.net.setLinkUp(s.l("a->t"), false); // ... because it failed
    // Without a listener the rollback stops at the refused re-creation, and its entry stays.
    const strict = journaling(s.ctl);
    const v2 = strict.createVirtualLink("u", "v", { path: ["u", "s", "b", "t", "v"] }) as string;
    strict.removeVirtualLink(v2);
    s.net.setLinkUp(s.l("b->t"), false);
    assert.throws(() => strict.rollback(0), LinkDownError);
    assert.equal(strict.entries().length, 2);
    s.net.setLinkUp(s.l("b->t"), true);
    // With one: the refusal is reported and the rest is undone (the new link removed, the route back to default).
    const refused: string[] = [];
    assert.equal(
      j.rollback(mark, (entry, e) => refused.push(`${entry.verb} ${e.constructor.name}`)),
      undefined,
    );
    settle(s);
    assert.deepEqual(refused, ["removeVirtualLink LinkDownError"]);
    assert.equal(j.entries().length, mark);
    assert.deepEqual(
      s.ctl.virtualLinks().filter((v) => v.src === "s"),
      [],
      "the failover's link removed; the old one could not come back",
    );
    assert.equal(s.ctl.routes().has("u->v"), false);
  });

  it("journals only actions that succeeded and that leave state", () => {
    const s = setup();
    const j = journaling(s.ctl);
    assert.throws(() => j.setRoute(st, ["s", "t"]), NoPathError);
    j.probe(["s", "a", "t"]);
    j.paths("s", "t", 2);
    j.setRoute(st, ["s", "b", "t"]);
    assert.deepEqual(
      j.entries().map((e) => e.verb),
      ["setRoute"],
    );
  });

  it("refuses, changing nothing, to undo the removal of a link it did not see created", () => {
    const s = setup();
    const vl = s.ctl.createVirtualLink("s", "t", { path: ["s", "b", "t"] });
    const j = journaling(s.ctl);
    j.setRoute(st, ["s", "b", "t"]);
    j.removeVirtualLink(vl);
    settle(s);
    const now = state(s);
    assert.throws(() => j.rollback(0), JournalError);
    assert.deepEqual(state(s), now);
    assert.equal(j.entries().length, 2);
  });

  for (const mark of [-1, 1.5, 3]) {
    it(`refuses mark ${mark}, which is not a position in a log of two entries`, () => {
      const s = setup();
      const j = journaling(s.ctl);
      j.setRoute(st, ["s", "b", "t"]);
      j.setRoute(uv, ["u", "s", "b", "t", "v"]);
      assert.throws(() => j.rollback(mark), JournalError);
    });
  }

  it("rolls back through a ControlPlane that answers with Promises, in order", async () => {
    const s = setup();
    const asyncCtl = decorate(VERBS, s.ctl, (_v, d, args, call) =>
      d.kind === "action" ? Promise.resolve().then(() => call(args)) : call(args),
    );
    const j = journaling(asyncCtl);
    const atStart = state(s);
    const vl = await j.createVirtualLink("s", "t", { path: ["s", "b", "t"], rateBps: 1e8 });
    await j.setRoute(uv, ["u", "s", "b", "t", "v"]);
    await j.setFirewall({ action: "deny", src: "u" });
    settle(s);
    const pending = j.rollback(0);
    assert.ok(pending instanceof Promise);
    await pending;
    settle(s);
    assert.equal(typeof vl, "string");
    assert.deepEqual(state(s), atStart);
  });

  it("undoes different pairs' changes at once and one pair's in order, through a ControlPlane that takes time", async () => {
    const s = setup();
    // Each action takes 5 ms of wall time; the log says when each undo call began and ended, and how many overlapped.
    const log: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let recording = false;
    const slowCtl = decorate(VERBS, s.ctl, (verb, d, args, call) => {
      if (d.kind !== "action") return call(args);
      if (!recording) return call(args);
      const what = `${verb} ${JSON.stringify(args[0])}`;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      log.push(`begin ${what}`);
      return new Promise((resolve) => setTimeout(resolve, 5)).then(() => {
        inFlight--;
        log.push(`end ${what}`);
        return call(args);
      });
    });
    const j = journaling(slowCtl);
    const atStart = state(s);
    // Two pairs, each with a virtual link and a route change; the s->t link is created twice (ordered undos).
    const a = await j.createVirtualLink("s", "t", { path: ["s", "b", "t"] });
    await j.createVirtualLink("u", "v", { path: ["u", "s", "a", "t", "v"] });
    await j.mirror(st, ["s", "a", "t"]);
    await j.mirror(uv, ["u", "s", "b", "t", "v"]);
    await j.removeVirtualLink(a);
    await j.setFirewall({ action: "deny", src: "u" });
    settle(s);
    recording = true;
    await j.rollback(0);
    settle(s);
    assert.deepEqual(state(s), atStart);
    assert.deepEqual(j.entries(), []);
    assert.ok(maxInFlight >= 2, `undo calls in flight at once: at most ${maxInFlight}\n${log.join("\n")}`);
    // Newest first: the firewall's undo; the removal's undo, re-creating s->t's link (it takes a VNA back), alone;
    // the two mirrors' undos together; the two creations' undos together (one pair's in order: s->t's mirror ends
    // before its links' removal begins).
    const at = (x: string) => log.findIndex((l) => l.startsWith(x));
    assert.ok(at("end setFirewall") < at("begin createVirtualLink"), log.join("\n"));
    assert.ok(at("end createVirtualLink") < at("begin mirror"), log.join("\n"));
    assert.ok(at(`end mirror ${JSON.stringify(st)}`) < at("begin removeVirtualLink"), log.join("\n"));
  });
});
