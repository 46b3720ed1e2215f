/**
 * How the path policies send their probes (models/rl/path-mesh.ts sendProbes): all at once where the verb answers
 * at once (the simulator: same order, nothing left pending), at most 8 in flight where it answers with a promise
 * (the emulator), typed ControlErrors skipped, any other failure reported.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ControlPlane } from "../../../models/policies/types.ts";
import { LinkDownError, type NodePath } from "../../../models/policies/types.ts";
import { sendProbes } from "../../../models/rl/path-mesh.ts";

const plan: NodePath[] = Array.from({ length: 20 }, (_, i) => ["a", `r${i}`, "b"]);

/** A control plane of which only `probe` is called. */
const probing = (probe: (p: NodePath) => unknown) => ({ probe }) as unknown as ControlPlane;

describe("sending probes", () => {
  it("sends every probe at once, in order, when the verb answers at once; a ControlError skips one", () => {
    const sent: string[] = [];
    const ctl = probing((p) => {
      if (p[1] === "r3") throw new LinkDownError("a->r3");
      sent.push(p[1]!);
    });
    assert.equal(sendProbes(ctl, plan), null);
    assert.deepEqual(
      sent,
      plan.map((p) => p[1]).filter((r) => r !== "r3"),
    );
  });

  it("keeps at most 8 in flight when the verb answers with a promise, and settles after the last", async () => {
    let inFlight = 0;
    let most = 0;
    const sent: string[] = [];
    const ctl = probing(async (p) => {
      sent.push(p[1]!);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (p[1] === "r7") throw new LinkDownError("a->r7");
    });
    const pending = sendProbes(ctl, plan);
    assert.ok(pending, "a promise while probes go out");
    assert.ok(sent.length <= 8, `${sent.length} sent before the caller went on`);
    await pending;
    assert.equal(sent.length, 20);
    assert.equal(most, 8);
    assert.equal(inFlight, 0);
  });

  it("gives a background failure to `lost` and sends the rest", async () => {
    const lost: string[] = [];
    let sent = 0;
    const ctl = probing(async (p) => {
      sent++;
      if (p[1] === "r12") throw new Error("Nexthop has invalid gateway");
    });
    await sendProbes(ctl, plan, (p, e) => lost.push(`${p[1]}: ${(e as Error).message}`));
    assert.deepEqual(lost, ["r12: Nexthop has invalid gateway"]);
    assert.equal(sent, 20);
  });

  it("rejects with a failure that is not a ControlError", async () => {
    const ctl = probing(async (p) => {
      if (p[1] === "r12") throw new Error("ip: command failed");
    });
    await assert.rejects(sendProbes(ctl, plan)!, /ip: command failed/);
  });
});
