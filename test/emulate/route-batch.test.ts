/**
 * Route changes batched in emulation (emulate/routes.ts): the setRoute calls of one turn of the event loop go in as
 * one `ip -batch` request per namespace, each call keeping its own outcome, record and undo; and probes that write
 * their path's routes only when they are not in place (emulate/probe.ts).
 *
 *     n0 ---- n1
 *     |        |        ring(4)
 *     n3 ---- n2
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { EmulationError } from "../../emulate/errors.ts";
import type { Runner, RunOptions } from "../../emulate/runner.ts";
import { down, exec, up } from "../../emulate/substrate.ts";
import { journaling } from "../../models/policies/journal.ts";
import { type ActionRecord, recording } from "../../models/policies/recording.ts";
import type { NodePath } from "../../models/policies/types.ts";
import { ring } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { offline } from "./fixtures/offline-control-plane.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-route-batch-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const topo = ring(4, { capacityBps: 100e6, delayNs: 0 });

/** A runner whose `ip -batch` lines fail, as iproute2 reports them, in the namespaces `failIn` names. */
class FailingRunner implements Runner {
  calls: { argv: readonly string[]; input?: string }[] = [];
  constructor(private readonly failIn: (argv: readonly string[], line: string) => boolean) {}
  async run(argv: readonly string[], opts: RunOptions = {}) {
    this.calls.push({ argv, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    const lines = (opts.input ?? "").split("\n").filter((l) => l !== "");
    const stderr = lines
      .map((l, i) =>
        this.failIn(argv, l) ? `Error: Nexthop device is not up.\nCommand failed -:${i + 1}\n` : "",
      )
      .join("");
    return { code: stderr ? 1 : 0, stdout: "", stderr };
  }
  /** The ip batch requests (one process each here), by namespace. */
  ipRequests(): string[] {
    return this.calls.filter((c) => c.argv[0] === "ip" && c.argv.includes("-batch")).map((c) => c.argv[2]!);
  }
}

function withRunner(runner: Runner) {
  const o = offline(topo, dir);
  const ctl = new EmulationControlPlane(o.state, { runner, dir });
  return { ctl, state: o.state };
}

const pin = (src: string, dst: string, path: NodePath | null) => ({ pair: { src, dst }, path });

describe("route batches, offline", () => {
  const cases: {
    name: string;
    changes: ReturnType<typeof pin>[];
    /** Namespaces (node ids) that get one request each. */
    requests: string[];
    pinned: string[];
  }[] = [
    {
      name: "three pairs over every node",
      changes: [
        pin("n0", "n2", ["n0", "n3", "n2"]),
        pin("n1", "n3", ["n1", "n2", "n3"]),
        pin("n2", "n0", ["n2", "n1", "n0"]),
      ],
      requests: ["n0", "n1", "n2", "n3"],
      pinned: ["n0->n2", "n1->n3", "n2->n0"],
    },
    {
      name: "two pairs from one source",
      changes: [pin("n0", "n2", ["n0", "n1", "n2"]), pin("n0", "n1", ["n0", "n3", "n2", "n1"])],
      requests: ["n0", "n1", "n2", "n3"],
      pinned: ["n0->n1", "n0->n2"],
    },
    {
      name: "a pair pinned twice in one turn ends on its last path",
      changes: [pin("n0", "n2", ["n0", "n1", "n2"]), pin("n0", "n2", ["n0", "n3", "n2"])],
      requests: ["n0", "n1", "n3"],
      pinned: ["n0->n2"],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: one request per namespace, every call resolved`, async () => {
      const runner = new FailingRunner(() => false);
      const { ctl, state } = withRunner(runner);
      await Promise.all(c.changes.map((x) => ctl.setRoute(x.pair, x.path)));
      assert.deepEqual(runner.ipRequests().sort(), c.requests.map((n) => `tcabc123-${n}`).sort());
      assert.deepEqual(ctl.pinnedRoutes.stats, {
        batches: 1,
        changes: c.changes.length,
        requests: c.requests.length,
      });
      assert.deepEqual(Object.keys(state.routes).sort(), c.pinned);
      const last = c.changes.at(-1)!;
      assert.deepEqual(state.routes[`${last.pair.src}->${last.pair.dst}`]?.path, last.path);
    });
  }

  it("re-pinning and unpinning together: the old rules and tables go in the same request as the new ones", async () => {
    const runner = new FailingRunner(() => false);
    const { ctl, state } = withRunner(runner);
    await Promise.all([
      ctl.setRoute({ src: "n0", dst: "n2" }, ["n0", "n3", "n2"]),
      ctl.setRoute({ src: "n1", dst: "n3" }, ["n1", "n0", "n3"]),
    ]);
    const old = state.routes["n0->n2"]!;
    const other = state.routes["n1->n3"]!;
    runner.calls = [];
    await Promise.all([
      ctl.setRoute({ src: "n0", dst: "n2" }, ["n0", "n1", "n2"]),
      ctl.setRoute({ src: "n1", dst: "n3" }, null),
    ]);
    const n0 = runner.calls.filter((x) => x.argv[2] === "tcabc123-n0").map((x) => x.input ?? "");
    assert.equal(n0.length, 1, "one request at n0");
    assert.match(
      n0[0]!,
      new RegExp(`rule del priority ${old.rulePriority}\\nroute flush table ${old.table}\\n`),
    );
    assert.match(
      n0[0]!,
      new RegExp(`rule del priority ${other.rulePriority}`),
      "n1 -> n3's transit rule at n0",
    );
    assert.match(n0[0]!, /rule add iif lo to 10\.213\.0\.3\/32 table \d+ priority/);
    assert.deepEqual(Object.keys(state.routes), ["n0->n2"]);
  });

  it("a change whose lines fail is rejected alone (EmulationError naming the command), its rules taken out; the action record says so", async () => {
    // n3's lines fail: n0 -> n2 over n3 fails, n1 -> n3 (nothing to write at its destination) goes in.
    const runner = new FailingRunner((argv, line) => argv[2] === "tcabc123-n3" && line.includes(" add "));
    const { ctl, state } = withRunner(runner);
    const records: ActionRecord[] = [];
    const rec = recording(ctl, { sink: (r) => records.push(r), clockNs: () => 0 });
    const [a, b] = await Promise.allSettled([
      rec.setRoute({ src: "n0", dst: "n2" }, ["n0", "n3", "n2"]),
      rec.setRoute({ src: "n1", dst: "n3" }, ["n1", "n2", "n3"]),
    ]);
    assert.equal(a.status, "rejected");
    assert.ok((a as PromiseRejectedResult).reason instanceof EmulationError);
    assert.match(
      String((a as PromiseRejectedResult).reason.message),
      /ip -n tcabc123-n3 route add .*Nexthop device is not up/,
    );
    assert.equal(b.status, "fulfilled");
    assert.deepEqual(Object.keys(state.routes), ["n1->n3"]);
    assert.equal(ctl.pinnedRoutes.stats.batches, 1);
    const cleanup = runner.calls.slice(-2).map((x) => `${x.argv[2]}: ${x.input}`);
    assert.ok(
      cleanup.every((t) => /rule del priority \d+\nroute flush table \d+/.test(t)),
      `the failed change's rules and table removed at n0 and n3: ${cleanup.join(" | ")}`,
    );
    assert.deepEqual(records.map((r) => [r.verb, r.outcome, r.error?.name]).sort(), [
      ["setRoute", "error", "EmulationError"],
      ["setRoute", "ok", undefined],
    ]);
  });

  it("the journal undoes a batch of route changes in one batch and restores each pair", async () => {
    const runner = new FailingRunner(() => false);
    const { ctl, state } = withRunner(runner);
    const j = journaling(ctl);
    await j.setRoute({ src: "n0", dst: "n2" }, ["n0", "n3", "n2"]);
    const mark = j.mark();
    await Promise.all([
      j.setRoute({ src: "n0", dst: "n2" }, ["n0", "n1", "n2"]),
      j.setRoute({ src: "n1", dst: "n3" }, ["n1", "n0", "n3"]),
      j.setRoute({ src: "n2", dst: "n0" }, ["n2", "n3", "n0"]),
    ]);
    assert.equal(ctl.pinnedRoutes.stats.batches, 2);
    await j.rollback(mark);
    assert.equal(ctl.pinnedRoutes.stats.batches, 3, "the three undos went in as one batch");
    assert.deepEqual(Object.keys(state.routes), ["n0->n2"]);
    assert.deepEqual(state.routes["n0->n2"]?.path, ["n0", "n3", "n2"]);
  });

  it("a probe writes its path's routes once, and again only after a link of the path came back up", async () => {
    const runner = new FailingRunner(() => false);
    const { ctl } = withRunner(runner);
    const path = ["n0", "n3", "n2"];
    const writes = () => runner.ipRequests().length;
    await ctl.probe(path);
    const first = writes();
    assert.equal(first, 3, "address, rules and routes at the path's three nodes");
    await ctl.probe(path);
    await ctl.probe(path);
    assert.equal(writes(), first, "nothing written for the next probes");
    await ctl.setLinkState("n1->n2", false);
    await ctl.setLinkState("n1->n2", true);
    const other = writes();
    await ctl.probe(path);
    assert.equal(writes(), other, "a link off the path changes nothing");
    await ctl.setLinkState("n3->n2", false);
    await ctl.setLinkState("n3->n2", true);
    const before = writes();
    await ctl.probe(path);
    assert.equal(writes() - before, 3, "routes written again after n3-n2 came back");
    await ctl.sync();
  });
});

describe("route batches on namespaces", async () => {
  const skip = await needs(["veth"], ["ping"]);
  const routeDev = async (runId: string, node: string, dst: string) =>
    /dev (\S+)/.exec((await exec(runId, node, ["ip", "route", "get", dst])).stdout)?.[1];

  it("pins several pairs in one batch; a change over a device that is down fails alone, leaving no rule", {
    skip,
  }, async () => {
    const run = await up(topo, { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      // n3's device towards n2 goes down behind the control plane's back: n3's route via it cannot go in.
      const l = run.plan.links.find((x) => [x.a.node, x.b.node].sort().join() === "2,3")!;
      const n3end = l.a.node === 3 ? l.a : l.b;
      await exec(run.runId, "n3", ["ip", "link", "set", "dev", n3end.dev, "down"]);
      const [bad, good1, good2] = await Promise.allSettled([
        ctl.setRoute({ src: "n0", dst: "n2" }, ["n0", "n3", "n2"]),
        ctl.setRoute({ src: "n1", dst: "n3" }, ["n1", "n0", "n3"]),
        ctl.setRoute({ src: "n2", dst: "n0" }, ["n2", "n1", "n0"]),
      ]);
      assert.equal(bad.status, "rejected");
      assert.ok((bad as PromiseRejectedResult).reason instanceof EmulationError);
      assert.equal(good1.status, "fulfilled");
      assert.equal(good2.status, "fulfilled");
      assert.equal(ctl.pinnedRoutes.stats.batches, 1);
      const n3 = run.plan.nodes[3]!;
      const viaN0 = run.plan.links.find((x) => [x.a.node, x.b.node].sort().join() === "0,1")!;
      assert.equal(
        await routeDev(run.runId, "n1", n3.address),
        viaN0.a.node === 1 ? viaN0.a.dev : viaN0.b.dev,
      );
      const n2 = run.plan.nodes[2]!;
      assert.equal(
        (await exec(run.runId, "n1", ["ping", "-c", "2", "-i", "0.1", "-W", "1", n3.address])).code,
        0,
      );
      assert.equal(
        (await exec(run.runId, "n0", ["ip", "rule", "show"])).stdout.includes(`to ${n2.address} lookup`),
        false,
        "no rule left for the failed change at its source",
      );
      ctl.close();
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });
});
