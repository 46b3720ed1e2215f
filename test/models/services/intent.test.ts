import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MalformedIntentError } from "../../../models/services/errors.ts";
import {
  formatIntent,
  type Intent,
  matchIntent,
  type PathEstimate,
  parseIntent,
  validateIntent,
} from "../../../models/services/intent.ts";

const MS = 1_000_000;
const offer: Intent = {
  service: "video",
  maxLatencyNs: 5 * MS,
  minBandwidthBps: 1e9,
  secure: true,
  maxCostPerGB: 0.01,
};
const path = (p: Partial<PathEstimate>): PathEstimate => ({
  latencyNs: 0,
  bandwidthBps: Number.POSITIVE_INFINITY,
  secure: true,
  costPerGB: 0,
  ...p,
});

describe("matchIntent", () => {
  const cases: [string, Intent, Intent, PathEstimate | undefined, string[]][] = [
    [
      "an offer as strict as the requirement meets it",
      { service: "video", maxLatencyNs: 5 * MS },
      offer,
      undefined,
      [],
    ],
    ["another service never matches", { service: "web" }, offer, undefined, ["service"]],
    [
      "path latency adds to the promise",
      { service: "video", maxLatencyNs: 20 * MS },
      offer,
      path({ latencyNs: 16 * MS }),
      ["latency"],
    ],
    [
      "the path's bottleneck caps the bandwidth",
      { service: "video", minBandwidthBps: 5e8 },
      offer,
      path({ bandwidthBps: 1e8 }),
      ["bandwidth"],
    ],
    [
      "one insecure link fails a secure intent",
      { service: "video", secure: true },
      offer,
      path({ secure: false }),
      ["security"],
    ],
    [
      "path cost adds to the offer's",
      { service: "video", maxCostPerGB: 0.02 },
      offer,
      path({ costPerGB: 0.015 }),
      ["cost"],
    ],
    [
      "an unpromised latency fails any latency bound",
      { service: "video", maxLatencyNs: 1e12 },
      { service: "video" },
      undefined,
      ["latency"],
    ],
    [
      "an unpromised bandwidth fails any floor",
      { service: "video", minBandwidthBps: 1 },
      { service: "video" },
      undefined,
      ["bandwidth"],
    ],
    ["no bounds: any offer of the service", { service: "video" }, { service: "video" }, undefined, []],
    [
      "every unmet term is listed, in order",
      { service: "video", maxLatencyNs: 1, minBandwidthBps: 2e9, secure: true, maxCostPerGB: 0 },
      offer,
      path({ secure: false }),
      ["latency", "bandwidth", "security", "cost"],
    ],
  ];
  for (const [name, req, off, p, want] of cases) {
    it(name, () => {
      const m = matchIntent(req, off, p);
      assert.deepEqual(m.mismatches, want);
      assert.equal(m.ok, want.length === 0);
    });
  }

  it("predicts the end-to-end figures", () => {
    const m = matchIntent(
      { service: "video" },
      offer,
      path({ latencyNs: 3 * MS, bandwidthBps: 4e8, costPerGB: 0.02 }),
    );
    assert.deepEqual(
      { l: m.latencyNs, b: m.bandwidthBps, s: m.secure, c: m.costPerGB },
      { l: 8 * MS, b: 4e8, s: true, c: 0.03 },
    );
  });
});

describe("parseIntent and validateIntent", () => {
  it("reads the text form with units, spaces and commas", () => {
    assert.deepEqual(parseIntent("service=video, latency < 20ms, bandwidth >= 100Mbps, secure, cost<0.05"), {
      service: "video",
      maxLatencyNs: 20 * MS,
      minBandwidthBps: 1e8,
      secure: true,
      maxCostPerGB: 0.05,
    });
  });

  it("round-trips through formatIntent", () => {
    assert.deepEqual(parseIntent(formatIntent(offer)), offer);
  });

  it("takes numbers in base units and unit strings", () => {
    assert.deepEqual(validateIntent({ service: "a", maxLatencyNs: 5, minBandwidthBps: "1Gbps" }), {
      service: "a",
      maxLatencyNs: 5,
      minBandwidthBps: 1e9,
    });
  });

  const bad: [string, () => unknown, RegExp][] = [
    [
      "a missing service",
      () => validateIntent({ maxLatencyNs: 1 }, "intents[0]"),
      /^intents\[0\]: service: expected a service name/,
    ],
    [
      "an unknown field",
      () => validateIntent({ service: "a", latency: 1 }),
      /unknown field "latency"; allowed: service, /,
    ],
    [
      "a bad duration",
      () => validateIntent({ service: "a", maxLatencyNs: "soon" }),
      /maxLatencyNs: expected a duration such as .* got "soon"/,
    ],
    [
      "a negative rate",
      () => validateIntent({ service: "a", minBandwidthBps: -1 }),
      /minBandwidthBps: expected a rate/,
    ],
    [
      "a non-boolean secure",
      () => validateIntent({ service: "a", secure: "yes" }),
      /secure: expected true or false, got "yes"/,
    ],
    [
      "a negative cost",
      () => validateIntent({ service: "a", maxCostPerGB: -1 }),
      /maxCostPerGB: expected a finite number >= 0/,
    ],
    ["not an object", () => validateIntent("video"), /expected an object with a "service", got "video"/],
    ["text without a service", () => parseIntent("latency<2ms"), /service: expected a "service=NAME" term/],
    [
      "a bound the wrong way round",
      () => parseIntent("service=a, latency>2ms"),
      /latency: expected latency with < or <=, got "latency>"/,
    ],
    [
      "an unknown term",
      () => parseIntent("service=a, jitter<2ms"),
      /term: expected service=NAME, latency<DURATION/,
    ],
    [
      "a cost that is not a number",
      () => parseIntent("service=a, cost<cheap"),
      /maxCostPerGB: expected a finite number >= 0 .* got "cheap"/,
    ],
  ];
  for (const [name, f, msg] of bad) {
    it(`refuses ${name} with a MalformedIntentError naming the field`, () => {
      assert.throws(f, (e: unknown) => e instanceof MalformedIntentError && msg.test(e.message));
    });
  }
});
