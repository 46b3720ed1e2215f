/**
 * Two personas of one application agree within the stated tolerances (models/personas/agreement.ts): identities
 * exactly, rates and counts relatively, the latency share absolutely; each case edits one field of a copy.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_TOLERANCES, personaDisagreements } from "../../../models/personas/agreement.ts";
import type { Persona } from "../../../models/personas/profile.ts";
import { edited, gamePersona } from "./fixture.ts";

const base = gamePersona();
const withField = (path: (string | number)[], value: unknown) => edited(base, path, value) as Persona;

describe("persona agreement between engines", () => {
  const cases: { name: string; b: Persona; broken: string[] }[] = [
    { name: "a persona agrees with itself", b: base, broken: [] },
    {
      name: "a mean rate 8% lower is within 10%",
      b: withField(["fingerprint", "bandwidth", "meanBps"], 96_000 * 0.92),
      broken: [],
    },
    {
      name: "a mean rate 15% lower is not",
      b: withField(["fingerprint", "bandwidth", "meanBps"], 96_000 * 0.85),
      broken: ["fingerprint.bandwidth.meanBps"],
    },
    {
      name: "a p95 20% higher is within 25%",
      b: withField(["fingerprint", "bandwidth", "p95Bps"], 150_000 * 1.2),
      broken: [],
    },
    {
      name: "a p95 twice as high is not",
      b: withField(["fingerprint", "bandwidth", "p95Bps"], 300_000),
      broken: ["fingerprint.bandwidth.p95Bps"],
    },
    {
      name: "a latency share 0.04 lower is within 0.05",
      b: withField(["fingerprint", "latencySensitivity", "share"], 0.94),
      broken: [],
    },
    {
      name: "a latency share 0.1 lower is not",
      b: withField(["fingerprint", "latencySensitivity", "share"], 0.88),
      broken: ["fingerprint.latencySensitivity.share"],
    },
    {
      name: "another port is not",
      b: withField(["fingerprint", "ports"], [7778]),
      broken: ["fingerprint.ports"],
    },
    {
      name: "another protocol is not",
      b: withField(["fingerprint", "protocols"], ["tcp"]),
      broken: ["fingerprint.protocols"],
    },
    {
      name: "a peer no longer critical is not",
      b: withField(["fingerprint", "peers", 1, "critical"], false),
      broken: ["fingerprint.peers"],
    },
    {
      name: "a peer's bytes 30% lower are not",
      b: withField(["fingerprint", "peers", 0, "bytes"], 1_200_000 * 0.7),
      broken: ["fingerprint.peers[0].bytes"],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual(
        personaDisagreements(base, c.b).map((d) => d.path),
        c.broken,
      );
    });

  it("names both values and the tolerance broken", () => {
    const b = withField(["fingerprint", "bandwidth", "meanBps"], 48_000);
    assert.deepEqual(personaDisagreements(base, b), [
      { path: "fingerprint.bandwidth.meanBps", a: 96_000, b: 48_000, tolerance: DEFAULT_TOLERANCES.meanBps },
    ]);
  });
});
