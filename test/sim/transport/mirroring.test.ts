import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diamond, MB } from "./diamond.ts";

describe("mirrored flows", () => {
  it("complete at the uncongested copy's time and count both copies' bytes", () => {
    const { sim, net, records, viaA, viaB, s, t } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: 1000 * MB, path: viaA }); // a long flow congests path A
    const f = net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA, mirrorPath: viaB });
    sim.run(50_000_000);
    const r = records.find((x) => x.flow === f)!;
    assert.equal(r.fctNs, 10_000_000, "the copy on idle path B takes 8 ms + 2 ms");
    assert.equal(r.mirrored, true);
    assert.equal(r.mirrorWon, true);
    assert.deepEqual(r.path, viaB);
    // The primary sent 8 ms x 500 Mbit/s = 0.5 MB before it was cancelled.
    assert.ok(Math.abs(r.wireBytes - 1.5 * MB) < 1, `${r.wireBytes}`);
  });

  it("let the primary win when its path is the better one", () => {
    const { sim, net, records, viaA, viaB, s, t } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: 1000 * MB, path: viaB });
    const f = net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA, mirrorPath: viaB });
    sim.run(50_000_000);
    const r = records.find((x) => x.flow === f)!;
    assert.equal(r.mirrorWon, false);
    assert.deepEqual(r.path, viaA);
  });

  it("carry only what the primary has left when a mirror is added mid-flow", () => {
    const { sim, net, records, viaA, viaB, s, t } = diamond();
    const f = net.startFlow({ src: s, dst: t, sizeBytes: 2 * MB, path: viaA });
    sim.schedule(8_000_000, () => {
      net.setLinkUp(viaA[1]!, false); // the primary stalls with 1 MB left
      net.setMirror(f, viaB);
    });
    sim.run();
    const r = records[0]!;
    assert.equal(r.mirrorWon, true);
    assert.equal(r.fctNs, 18_000_000); // 8 ms + 8 ms for the remaining 1 MB on B + 2 ms
    assert.ok(Math.abs(r.wireBytes - 2 * MB) < 1);
  });

  it("keep counting a removed mirror's bytes", () => {
    const { sim, net, records, viaA, viaB, s, t } = diamond();
    const f = net.startFlow({ src: s, dst: t, sizeBytes: 2 * MB, path: viaA, mirrorPath: viaB });
    sim.schedule(8_000_000, () => net.setMirror(f, null));
    sim.run();
    const r = records[0]!;
    assert.equal(r.mirrored, false);
    assert.ok(Math.abs(r.wireBytes - 3 * MB) < 1, `${r.wireBytes}`);
    assert.equal(net.activeFlows, 0);
  });
});
