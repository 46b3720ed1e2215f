import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { PERSONA_SCHEMA_FILE, personaSchemaText } from "../../../experiments/personas/json-schema.ts";
import { PersonaError, parsePersona } from "../../../models/personas/profile.ts";
import { DELETE, edited, gamePersona } from "./fixture.ts";

describe("persona document", () => {
  it("reads a valid document from JSON text and from a value, unchanged", () => {
    const doc = gamePersona();
    assert.deepEqual(parsePersona(JSON.stringify(doc), "game.json"), doc);
    assert.deepEqual(parsePersona(doc, "game.json"), doc);
  });

  const bad: [string, (string | number)[], unknown, RegExp][] = [
    [
      "an unknown overlay topology",
      ["desired", "topology"],
      "ring",
      /^game\.json: desired\.topology: got "ring"; allowed: "star", "mesh", "tree"$/,
    ],
    [
      "a priority above 7",
      ["desired", "qos", "priority"],
      9,
      /^game\.json: desired\.qos\.priority: got 9; .*<=7/,
    ],
    [
      "a ceiling under the guaranteed rate",
      ["desired", "qos", "ceilBps"],
      1,
      /^game\.json: desired\.qos\.ceilBps: got 1; ceilBps must be >= rateBps$/,
    ],
    [
      "a port out of range in a peer",
      ["fingerprint", "peers", 1, "ports"],
      [70000],
      /^game\.json: fingerprint\.peers\[1\]\.ports\[0\]: got 70000; /,
    ],
    [
      "a missing field",
      ["application", "versionHash"],
      DELETE,
      /^game\.json: application\.versionHash: got nothing \(missing\); /,
    ],
    ["an unknown field", ["desired", "colour"], "blue", /^game\.json: desired: unknown field\(s\) "colour"$/],
    [
      "a time-of-day profile of 23 hours",
      ["fingerprint", "timeOfDay"],
      Array(23).fill(0),
      /^game\.json: fingerprint\.timeOfDay: got \[.*\]; .*24/,
    ],
    [
      "defaultDeny false",
      ["desired", "security", "defaultDeny"],
      false,
      /^game\.json: desired\.security\.defaultDeny: got false; allowed: true$/,
    ],
    [
      "an unknown protocol in the allow-list",
      ["desired", "security", "allow", 0, "protocol"],
      "sctp",
      /^game\.json: desired\.security\.allow\[0\]\.protocol: got "sctp"; allowed: "tcp", "udp"$/,
    ],
    [
      "a window that ends before it starts",
      ["provenance", "windowEndNs"],
      0,
      /^game\.json: provenance\.windowEndNs: got 0; windowEndNs must be > windowStartNs$/,
    ],
    [
      "a stale schemaVersion",
      ["schemaVersion"],
      0,
      /^game\.json: schemaVersion: got 0, a stale or foreign document; this topocast reads schemaVersion 1/,
    ],
    [
      "no schemaVersion",
      ["schemaVersion"],
      DELETE,
      /^game\.json: schemaVersion: missing; this topocast reads schemaVersion 1$/,
    ],
  ];
  for (const [what, path, value, message] of bad) {
    it(`refuses ${what}, naming the field path, the value and what is allowed`, () => {
      assert.throws(
        () => parsePersona(edited(gamePersona(), path, value), "game.json"),
        (e: unknown) => e instanceof PersonaError && message.test(e.message),
      );
    });
  }

  it("refuses text that is not JSON and values that are not objects", () => {
    assert.throws(() => parsePersona("{oops", "x.json"), /^PersonaError: x\.json: not JSON: /);
    assert.throws(() => parsePersona([1], "x.json"), /x\.json: expected a persona object, got \[1\]/);
  });

  it("has its JSON Schema committed as experiments/persona.schema.json, current (npm run schema)", () => {
    assert.deepEqual(JSON.parse(readFileSync(PERSONA_SCHEMA_FILE, "utf8")), JSON.parse(personaSchemaText()));
  });
});
