import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diffPersonas } from "../../../models/personas/diff.ts";
import type { Persona } from "../../../models/personas/profile.ts";
import { gamePersona } from "./fixture.ts";

describe("persona diff", () => {
  it("is empty between two versions of one document", () => {
    assert.deepEqual(diffPersonas(gamePersona(), gamePersona({ version: 7 })), []);
  });

  it("lists each changed leaf by path, and fields on one side only", () => {
    const a = gamePersona();
    const b: Persona = JSON.parse(JSON.stringify(a));
    b.desired.qos.priority = 2;
    b.desired.routing = "bandwidth";
    b.fingerprint.ports = [7777, 8000];
    delete b.desired.security.allow[1]!.port;
    assert.deepEqual(diffPersonas(a, b), [
      { path: "fingerprint.ports[1]", from: undefined, to: 8000 },
      { path: "desired.qos.priority", from: 0, to: 2 },
      { path: "desired.security.allow[1].port", from: 9000, to: undefined },
      { path: "desired.routing", from: "latency", to: "bandwidth" },
    ]);
  });
});
