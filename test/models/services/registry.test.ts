import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MalformedIntentError, MalformedResourceError } from "../../../models/services/errors.ts";
import {
  decodeRecord,
  encodeRecord,
  makeRecord,
  type ResourceHealth,
  type ResourceRecord,
  selectMatches,
} from "../../../models/services/registry.ts";

const MS = 1_000_000;
const rec = (id: string, health: ResourceHealth, latencyMs: number, bandwidthBps: number): ResourceRecord =>
  makeRecord(id, { address: "10.0.0.1", node: "n0", network: "net", capabilities: ["video"], health }, [
    { service: "video", maxLatencyNs: latencyMs * MS, minBandwidthBps: bandwidthBps },
  ]);

describe("makeRecord", () => {
  it("sorts and de-duplicates capabilities and sorts promises by service", () => {
    const r = makeRecord(
      "a",
      { address: "x", node: "n", network: "w", capabilities: ["web", "video", "web"], health: "up" },
      [{ service: "web" }, { service: "video", maxLatencyNs: "5ms" }],
    );
    assert.deepEqual(r.metadata.capabilities, ["video", "web"]);
    assert.deepEqual(r.intents, [{ service: "video", maxLatencyNs: 5 * MS }, { service: "web" }]);
    assert.equal(r.version, 1);
  });

  const md = { address: "x", node: "n", network: "w", capabilities: ["video"], health: "up" };
  const bad: [string, () => unknown, typeof MalformedResourceError | typeof MalformedIntentError, RegExp][] =
    [
      [
        "an id with a space",
        () => makeRecord("a b", md, []),
        MalformedResourceError,
        /registerResource: id: expected 1-128/,
      ],
      [
        "an empty address",
        () => makeRecord("a", { ...md, address: "" }, []),
        MalformedResourceError,
        /resource "a": metadata.address: expected a non-empty string, got ""/,
      ],
      [
        "no capabilities",
        () => makeRecord("a", { ...md, capabilities: [] }, []),
        MalformedResourceError,
        /metadata.capabilities: expected a non-empty list/,
      ],
      [
        "two promises for one service",
        () => makeRecord("a", md, [{ service: "video" }, { service: "video" }]),
        MalformedIntentError,
        /intents\[1\]: a second promise for service "video"/,
      ],
      [
        "intents that are not a list",
        () => makeRecord("a", md, "fast"),
        MalformedIntentError,
        /intents: expected a list/,
      ],
    ];
  for (const [name, f, cls, msg] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(f, (e: unknown) => e instanceof cls && msg.test((e as Error).message));
    });
  }
});

describe("encodeRecord and decodeRecord", () => {
  it("round-trip a record", () => {
    const r = { ...rec("a", "degraded", 3, 1e9), version: 7 };
    assert.deepEqual(decodeRecord(encodeRecord(r), "dht item"), r);
  });

  it("refuse text that is not a valid record, naming the source", () => {
    assert.throws(
      () => decodeRecord("{", "node n2, key k"),
      /^MalformedResourceError: node n2, key k: not JSON/,
    );
    assert.throws(
      () => decodeRecord(JSON.stringify({ ...rec("a", "up", 1, 1), version: 0 }), "item"),
      /item: version: expected an integer >= 1, got 0/,
    );
  });
});

describe("selectMatches", () => {
  const records = [
    rec("slow", "up", 40, 1e9),
    rec("fast", "up", 2, 1e8),
    rec("fast-wide", "up", 2, 1e9),
    rec("sick", "degraded", 1, 1e10),
    rec("dead", "down", 1, 1e10),
  ];
  it("keeps healthy before degraded, then lower latency, higher bandwidth, id; never down", () => {
    const { matches, rejected } = selectMatches({ service: "video", maxLatencyNs: 10 * MS }, records);
    assert.deepEqual(
      matches.map((m) => m.resource.id),
      ["fast-wide", "fast", "sick"],
    );
    assert.equal(rejected, 2);
  });

  it("applies the path per resource and the limit", () => {
    const { matches } = selectMatches({ service: "video", minBandwidthBps: 5e8 }, records, {
      path: (r) => ({
        latencyNs: 0,
        bandwidthBps: r.id === "slow" ? 1e6 : 1e12,
        secure: false,
        costPerGB: 0,
      }),
      limit: 1,
    });
    assert.deepEqual(
      matches.map((m) => m.resource.id),
      ["fast-wide"],
    );
  });
});
