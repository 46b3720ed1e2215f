/**
 * The emulated registry (root, real namespaces): one bittorrent-dht process per namespace on a 5-node ring of veths,
 *
 *     n0 -- n1 -- n2
 *     |            |
 *     n4 --------- n3
 *
 * each namespace with an egress guard (emulate/dht/egress-guard.ts): a trap default route and nftables counters,
 * so a packet to any address outside the run would be counted rather than refused unseen.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { counterCommand, egressGuardCommands, parseCounterPackets } from "../../emulate/dht/egress-guard.ts";
import { type EmuRegistryService, startRegistry } from "../../emulate/dht/registry.ts";
import { down, exec, nodeAddresses, type UpResult, up } from "../../emulate/substrate.ts";
import { UnknownResourceError } from "../../models/services/errors.ts";
import type { ResourceMetadata } from "../../models/services/registry.ts";
import { ring } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const PORT = 16881;
const NODES = ["n0", "n1", "n2", "n3", "n4"];

const meta = (node: string, address: string, capabilities = ["video"]): ResourceMetadata => ({
  address: `${address}:8080`,
  node,
  network: "ring",
  capabilities,
  health: "up",
});

async function inNs(run: UpResult, node: string, argv: string[]): Promise<string> {
  const r = await exec(run.runId, node, argv);
  assert.equal(r.code, 0, `${argv.join(" ")} in ${node}: ${r.stderr}`);
  return r.stdout;
}

const counter = async (run: UpResult, node: string, name: "outside" | "inside") =>
  parseCounterPackets(await inNs(run, node, counterCommand(name)));

describe("the emulated registry on a 5-node ring", async () => {
  const skip = await needs(["veth", "htb"], ["nft", "ping"]);
  let run: UpResult | undefined;
  let registry: EmuRegistryService | undefined;
  const addr = (node: string) => run!.nodes.find((n) => n.id === node)!.addresses[0]!;

  before(async () => {
    if (skip) return;
    run = await up(ring(5, { capacityBps: 100e6, delayNs: 0 }), { capabilities: await capabilities() });
    const runAddresses = nodeAddresses(run.plan).flat();
    for (const n of NODES) {
      for (const argv of egressGuardCommands(run.prefix, runAddresses, PORT)) await inNs(run, n, argv);
      // the control: one packet to TEST-NET-1 must be counted as outside
      await exec(run.runId, n, ["ping", "-c", "1", "-W", "1", "192.0.2.1"]);
    }
    registry = await startRegistry(run, { port: PORT });
  });
  after(async () => {
    await registry?.close();
    if (run) await down(run.runId);
    if (run) await assertRunsGone([run.runId]);
  });

  it("registers in one namespace and discovers from another", { skip }, async () => {
    await registry!
      .client("n0")
      .registerResource("cam-0", meta("n0", addr("n0")), [
        { service: "video", maxLatencyNs: 5e6, minBandwidthBps: 1e8 },
      ]);
    await registry!
      .client("n1")
      .registerResource("cam-1", meta("n1", addr("n1"), ["video", "web"]), [
        { service: "video", maxLatencyNs: 1e6, minBandwidthBps: 1e9 },
      ]);
    const d = await registry!.client("n3").discoverResources({ service: "video", maxLatencyNs: 10e6 });
    assert.deepEqual(
      d.matches.map((m) => [m.resource.id, m.resource.metadata.address]),
      [
        ["cam-1", `${addr("n1")}:8080`],
        ["cam-0", `${addr("n0")}:8080`],
      ],
    );
    // get_peers always crosses the network; the index and record reads are answered from n3's own replicas when it
    // holds them (k = 20 > 5 nodes: every node does), as the Kademlia model's value lookups are
    assert.ok(d.stats.lookups >= 1 && d.stats.latencyNs > 0, JSON.stringify(d.stats));
    assert.equal(d.stats.lookupLatenciesNs?.length, d.stats.lookups, "every DHT lookup timed");
  });

  it("updates a status from a third namespace and refuses an unknown resource", { skip }, async () => {
    await registry!.client("n2").updateResourceStatus("cam-0", "down");
    const got = await registry!.client("n4").getResource("cam-0");
    assert.deepEqual([got.record.version, got.record.metadata.health], [2, "down"]);
    const d = await registry!.client("n4").discoverResources({ service: "video" });
    assert.deepEqual(
      d.matches.map((m) => m.resource.id),
      ["cam-1"],
    );
    await registry!.client("n2").updateResourceStatus("cam-0", "up");
    await assert.rejects(
      registry!.client("n3").updateResourceStatus("ghost", "up"),
      (e: unknown) => e instanceof UnknownResourceError && /unknown resource "ghost"/.test(e.message),
    );
  });

  it("sends no packet to any address outside the run", { skip }, async () => {
    for (const n of NODES) {
      assert.equal(await counter(run!, n, "outside"), 1, `${n}: only the control ping left for outside`);
      assert.ok((await counter(run!, n, "inside")) > 0, `${n}: the guard saw the DHT's own packets`);
    }
  });

  it("loses no resource with a live replica when 20% of the DHT processes are killed", { skip }, async () => {
    await registry!.client("n2").registerResource("cam-2", meta("n2", addr("n2")), [{ service: "video" }]);
    await registry!.client("n3").registerResource("cam-3", meta("n3", addr("n3")), [{ service: "video" }]);
    const ids = ["cam-0", "cam-1", "cam-2", "cam-3"];
    const victim = "n2";
    await registry!.kill(victim);
    const live = NODES.filter((n) => n !== victim);
    const replicated = [];
    for (const id of ids) {
      const held = await Promise.all(live.map((n) => registry!.client(n).holds(id)));
      if (held.some(Boolean)) replicated.push(id);
    }
    assert.deepEqual(replicated, ids, "every record had a replica outside the killed node");
    const d = await registry!.client("n4").discoverResources({ service: "video" });
    assert.deepEqual(d.matches.map((m) => m.resource.id).sort(), replicated);
    for (const id of replicated) assert.equal((await registry!.client("n0").getResource(id)).record.id, id);
  });

  it("would count a DHT left on the library's public bootstrap routers (the guard can fail)", {
    skip,
  }, async () => {
    const before = await counter(run!, "n4", "outside");
    const script = `import DHT from "bittorrent-dht"; const d = new DHT(); d.on("error", () => {}); setTimeout(() => process.exit(0), 1500);`;
    await exec(run!.runId, "n4", [process.execPath, "--input-type=module", "-e", script]);
    assert.ok((await counter(run!, "n4", "outside")) > before, "the default routers' lookups were counted");
  });
});
