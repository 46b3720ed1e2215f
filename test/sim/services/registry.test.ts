/**
 * The simulated registry on a 6-node ring (10 ms per link each way), one Kademlia node per substrate node, joined
 * by messages:
 *
 *     n0 -- n1 -- n2
 *     |            |
 *     n5 -- n4 -- n3
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MalformedIntentError,
  MalformedResourceError,
  UnknownResourceError,
} from "../../../models/services/errors.ts";
import type { Intent } from "../../../models/services/intent.ts";
import type { ResourceMetadata } from "../../../models/services/registry.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { deployRegistry } from "../../../sim/services/registry.ts";
import { settle as settleIn } from "../../../sim/services/settle.ts";
import { ring } from "../../../sim/substrate/generators.ts";

const MS = 1_000_000;

function setup(seed = 1) {
  const sim = new Simulator();
  const registry = deployRegistry(sim, new RandomStreams(seed), ring(6, { delayNs: 10 * MS }), { k: 3 });
  const settle = <T>(p: Promise<T>): Promise<T> => settleIn(sim, p);
  return { sim, registry, settle };
}

const meta = (node: string, health: ResourceMetadata["health"] = "up"): ResourceMetadata => ({
  address: `10.0.0.${node.slice(1)}:8080`,
  node,
  network: "ring",
  capabilities: ["video", "web"],
  health,
});
const video = (latencyMs: number, bandwidthBps: number, secure = false): Intent => ({
  service: "video",
  maxLatencyNs: latencyMs * MS,
  minBandwidthBps: bandwidthBps,
  secure,
});

describe("the simulated registry", () => {
  it("registers on one node and discovers from another, best match first", async () => {
    const { registry, settle } = setup();
    const stats = await settle(registry.client("n0").registerResource("cam-a", meta("n0"), [video(10, 1e8)]));
    assert.ok(stats.lookups >= 3 && stats.latencyNs > 0, JSON.stringify(stats));
    await settle(registry.client("n2").registerResource("cam-b", meta("n2"), [video(2, 1e9, true)]));
    await settle(registry.client("n4").registerResource("cam-c", meta("n4"), [video(50, 1e10)]));
    // ask from a node that does not hold the service key, so the first lookup crosses the ring
    const holds = (n: string) =>
      registry.net.keysAt(registry.dhtNodeOf(n)).includes("topocast/service/video");
    const asker = registry.nodes.find((n) => !holds(n))!;
    const d = await settle(
      registry.client(asker).discoverResources({ service: "video", maxLatencyNs: 20 * MS }),
    );
    assert.deepEqual(
      d.matches.map((m) => m.resource.id),
      ["cam-b", "cam-a"],
    );
    assert.equal(d.rejected, 1);
    assert.equal(d.missing, 0);
    assert.equal(d.stats.lookups, 4);
    assert.ok(
      d.stats.latencyNs >= 20 * MS,
      `at least a round trip to a neighbour: ${JSON.stringify(d.stats)}`,
    );
    const secure = await settle(registry.client("n5").discoverResources({ service: "video", secure: true }));
    assert.deepEqual(
      secure.matches.map((m) => m.resource.id),
      ["cam-b"],
    );
  });

  it("adds the path to the promise when the caller gives one", async () => {
    const { registry, settle } = setup();
    await settle(registry.client("n0").registerResource("cam-a", meta("n0"), [video(10, 1e8)]));
    const far = await settle(
      registry
        .client("n3")
        .discoverResources(
          { service: "video", maxLatencyNs: 20 * MS },
          { path: () => ({ latencyNs: 30 * MS, bandwidthBps: 1e9, secure: false, costPerGB: 0 }) },
        ),
    );
    assert.equal(far.matches.length, 0);
    assert.equal(far.rejected, 1);
  });

  it("hides a resource marked down and shows it again when up", async () => {
    const { registry, settle } = setup();
    await settle(registry.client("n0").registerResource("cam-a", meta("n0"), [video(10, 1e8)]));
    await settle(registry.client("n1").updateResourceStatus("cam-a", "down"));
    const d = await settle(registry.client("n4").discoverResources({ service: "video" }));
    assert.equal(d.matches.length, 0);
    const got = await settle(registry.client("n5").getResource("cam-a"));
    assert.deepEqual([got.record.version, got.record.metadata.health], [2, "down"]);
    await settle(registry.client("n2").updateResourceStatus("cam-a", "up"));
    const again = await settle(registry.client("n3").discoverResources({ service: "web" }));
    assert.deepEqual(
      again.matches.map((m) => m.offer),
      [{ service: "web" }],
      "web is offered without a promise: it meets an unbounded intent",
    );
    const v = await settle(registry.client("n3").discoverResources({ service: "video" }));
    assert.deepEqual(
      v.matches.map((m) => [m.resource.id, m.resource.version]),
      [["cam-a", 3]],
    );
  });

  it("refuses bad input with typed, clear errors", async () => {
    const { registry, settle } = setup();
    const c = registry.client("n0");
    await assert.rejects(settle(c.updateResourceStatus("ghost", "up")), (e: unknown) => {
      return (
        e instanceof UnknownResourceError &&
        /unknown resource "ghost": no DHT node reachable from n0/.test(e.message)
      );
    });
    await assert.rejects(c.discoverResources({ service: "" }), MalformedIntentError);
    await assert.rejects(
      c.registerResource("cam", meta("n0"), [{ service: "audio" }]),
      /intents\[0\]\.service: "audio" is not in metadata.capabilities \(video, web\)/,
    );
    await assert.rejects(c.registerResource("bad id", meta("n0"), []), MalformedResourceError);
    await assert.rejects(
      c.registerResource("cam", { ...meta("n0"), health: "fine" as "up" }, []),
      /metadata.health: expected up \| degraded \| down, got "fine"/,
    );
    assert.throws(() => registry.client("n9"), /no registry node on "n9"; nodes: n0, n1, n2, n3, n4, n5/);
  });

  it("keeps a resource when its own DHT node and one more crash (replicas on the others)", async () => {
    const { registry, settle } = setup();
    await settle(registry.client("n0").registerResource("cam-a", meta("n0"), [video(10, 1e8)]));
    registry.net.leave(registry.dhtNodeOf("n0"));
    registry.net.leave(registry.dhtNodeOf("n3"));
    const d = await settle(registry.client("n4").discoverResources({ service: "video" }));
    assert.deepEqual(
      d.matches.map((m) => m.resource.id),
      ["cam-a"],
    );
  });
});
