/**
 * `topocast registry` against a persistent run (root, real namespaces): the registry daemons (emulate/dht/daemons.ts)
 * started by one command outlive it and serve later commands through their sockets; discovery adds the path along
 * the run's routes; bad input exits 2 naming the option; `stop` and `emulate down` leave no daemon, socket or log.
 * An egress guard (emulate/dht/egress-guard.ts) in every namespace proves no packet leaves the run. 4-node ring,
 * 2 ms links (VXLAN wires through relays, so discovery's path latency is not zero):
 *
 *     n0 -- n1
 *     |      |
 *     n3 -- n2
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { counterCommand, egressGuardCommands, parseCounterPackets } from "../../emulate/dht/egress-guard.ts";
import { isAlive, readState, registryDir } from "../../emulate/run-state.ts";
import { down, exec, nodeAddresses, type UpResult, up } from "../../emulate/substrate.ts";
import { ring } from "../../sim/substrate/generators.ts";
import { topocast, topocastInProcess } from "../experiments/run-cli.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const PORT = 16881;
const NODES = ["n0", "n1", "n2", "n3"];

describe("topocast registry on a persistent 4-node ring", async () => {
  const skip = await needs(["veth", "htb"], ["nft"]);
  let run: UpResult | undefined;
  const cli = async (...args: string[]) => {
    const r = await topocastInProcess(["registry", ...args]);
    assert.equal(r.code, 0, `registry ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    if (skip) return;
    run = await up(ring(4, { capacityBps: 100e6, delayNs: 2e6 }), {
      capabilities: await capabilities(),
      persistent: true,
    });
    // The run's addresses: nodes and links, and the wires' underlay (2 ms links are VXLAN wires through relays).
    const runAddresses = [
      ...nodeAddresses(run.plan).flat(),
      ...run.plan.links.flatMap((l) => (l.wire ? [l.wire.a.address, l.wire.b.address] : [])),
    ];
    for (const n of NODES)
      for (const argv of egressGuardCommands(run.prefix, runAddresses, PORT)) {
        const r = await exec(run.runId, n, argv);
        assert.equal(r.code, 0, r.stderr);
      }
  });
  after(async () => {
    if (run) await down(run.runId);
    if (run) await assertRunsGone([run.runId]);
  });

  it("starts daemons from a command that exits, and they serve the next commands", { skip }, async () => {
    const r = await topocast(["registry", "start", run!.runId, "--port", String(PORT)], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`registry of run ${run!.runId}: 4 DHT nodes on UDP port ${PORT}`));
    const daemons = readState(run!.runId)!.registry!.nodes;
    assert.deepEqual(
      daemons.map((d) => d.node),
      NODES,
    );
    assert.ok(
      daemons.every((d) => isAlive(d.pid)),
      "every daemon outlived the command that started it",
    );
  });

  it("registers from one node and discovers from another, adding the path along the routes", {
    skip,
  }, async () => {
    assert.match(
      await cli(
        "register",
        run!.runId,
        "cache-1",
        "--node",
        "n1",
        "--service",
        "cache",
        "--latency",
        "1ms",
        "--bandwidth",
        "1Gbps",
      ),
      /registered cache-1 \(cache on n1\) from n1: /,
    );
    await cli(
      "register",
      run!.runId,
      "cache-2",
      "--node",
      "n2",
      "--service",
      "cache",
      "--latency",
      "1ms",
      "--bandwidth",
      "1Gbps",
      "--from",
      "n3",
    );
    const d = JSON.parse(await cli("discover", run!.runId, "cache", "--from", "n0", "--json")) as {
      matches: { resource: { id: string }; match: { latencyNs: number; bandwidthBps: number } }[];
    };
    // n0 -> n1: one 2 ms hop; n0 -> n2: two hops (4 ms); the promise adds 1 ms; the 100 Mbit/s links cap its 1 Gbit/s.
    assert.deepEqual(
      d.matches.map((m) => [m.resource.id, m.match.latencyNs, m.match.bandwidthBps]),
      [
        ["cache-1", 3e6, 100e6],
        ["cache-2", 5e6, 100e6],
      ],
    );
    const bounded = await cli("discover", run!.runId, "cache", "--from", "n0", "--max-latency", "4ms");
    assert.match(bounded, /^1 match for cache from n0 \(1 rejected, 0 missing\)/);
  });

  it("updates a status from a third node, and discovery leaves the resource out", { skip }, async () => {
    assert.match(await cli("status", run!.runId, "cache-1", "down", "--from", "n2"), /cache-1 is down/);
    const shown = JSON.parse(await cli("show", run!.runId, "cache-1", "--from", "n3")) as {
      version: number;
      metadata: { health: string };
    };
    assert.deepEqual([shown.version, shown.metadata.health], [2, "down"]);
    assert.match(await cli("discover", run!.runId, "cache", "--from", "n0"), /^1 match .*\n\s+cache-2\s/);
  });

  const BAD: { what: string; args: string[]; message: RegExp }[] = [
    {
      what: "an unknown node",
      args: ["discover", "@", "cache", "--from", "n9"],
      message: /--from: run \w+ has no node "n9"; nodes: n0, n1, n2, n3/,
    },
    {
      what: "a bad duration",
      args: ["discover", "@", "cache", "--from", "n0", "--max-latency", "3 parsecs"],
      message: /--max-latency: expected a duration/,
    },
    {
      what: "an unknown resource",
      args: ["status", "@", "ghost", "up", "--from", "n0"],
      message: /unknown resource "ghost"/,
    },
    {
      what: "a second start",
      args: ["start", "@"],
      message: /its registry already runs \(4 nodes\); stop it with: topocast registry stop/,
    },
    { what: "a run that does not exist", args: ["stop", "ffffff"], message: /ffffff/ },
  ];
  for (const c of BAD)
    it(`exits 2 on ${c.what}, naming it`, { skip }, async () => {
      const r = await topocastInProcess(["registry", ...c.args.map((a) => (a === "@" ? run!.runId : a))]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, c.message);
    });

  it("sent no DHT packet to any address outside the run", { skip }, async () => {
    for (const n of NODES) {
      const read = async (name: "outside" | "inside") =>
        parseCounterPackets((await exec(run!.runId, n, counterCommand(name))).stdout);
      assert.equal(await read("outside"), 0, `${n}: a packet left the run`);
      assert.ok((await read("inside")) > 0, `${n}: the guard saw the DHT's packets`);
    }
  });

  it("stop ends every daemon and removes the sockets; a later command says no registry runs", {
    skip,
  }, async () => {
    const pids = readState(run!.runId)!.registry!.nodes.map((d) => d.pid);
    assert.match(await cli("stop", run!.runId), /4 nodes stopped/);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(existsSync(registryDir(run!.runId)), false);
    const r = await topocastInProcess(["registry", "discover", run!.runId, "cache", "--from", "n0"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no registry runs; start one with: topocast registry start/);
  });

  it("emulate down ends daemons a crashed controller left, and their sockets", { skip }, async () => {
    await cli("start", run!.runId, "--nodes", "n0,n1");
    const pids = readState(run!.runId)!.registry!.nodes.map((d) => d.pid);
    await down(run!.runId);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(existsSync(registryDir(run!.runId)), false);
    run = undefined;
  });
});
