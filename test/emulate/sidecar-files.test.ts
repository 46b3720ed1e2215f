/**
 * The sidecar mesh's directory (emulate/sidecar/run-files.ts), without root, in a scratch run directory: keys 0600
 * written once, and cleanup selecting meshes by run id or by a dead driver only.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { creator } from "../../emulate/run-state.ts";
import type { LeafCredentials } from "../../emulate/sidecar/ca.ts";
import {
  cleanupSidecars,
  createMeshDir,
  keyFiles,
  listMeshes,
  meshDir,
  signalSidecar,
  writeCredentials,
} from "../../emulate/sidecar/run-files.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-sidecar-files-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const leaf = (instance: string): LeafCredentials => ({
  spiffeId: `spiffe://topocast/web/${instance}`,
  serial: "01",
  certPem: "CERT",
  keyPem: "KEY",
  notAfter: new Date(),
});

/** A pid that certainly belongs to no live process: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  return r.pid!;
}

describe("sidecar mesh directory", () => {
  it("writes keys 0600 in a 0700 directory, never over an existing file", () => {
    const p = createMeshDir({ ...creator("a00001"), sidecars: [] }, dir);
    const { keyPath } = writeCredentials(p, leaf("0"));
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(p.root).mode & 0o777, 0o700);
    assert.throws(() => writeCredentials(p, leaf("0")), /EEXIST/);
    assert.deepEqual(keyFiles("a00001", dir), ["web.0.key"]);
  });

  it("refuses a second mesh for the same run", () => {
    assert.throws(() => createMeshDir({ ...creator("a00001"), sidecars: [] }, dir), /EEXIST/);
  });

  it("cleans meshes whose driver is dead, and leaves a live driver's alone", () => {
    createMeshDir({ ...creator("a00002"), pid: deadPid(), sidecars: [] }, dir);
    assert.deepEqual(listMeshes(dir), ["a00001", "a00002"]);
    assert.deepEqual(cleanupSidecars({ dir }), ["a00002"]);
    assert.ok(!existsSync(meshDir("a00002", dir)));
    assert.ok(existsSync(meshDir("a00001", dir)), "the live driver's mesh stays");
  });

  it("cleans a mesh by run id whatever its driver, keys included", () => {
    assert.deepEqual(cleanupSidecars({ runId: "a00001", dir }), ["a00001"]);
    assert.deepEqual(keyFiles("a00001", dir), []);
    assert.deepEqual(listMeshes(dir), []);
  });

  it("never signals a recorded pid whose start time no longer matches (a reused pid)", () => {
    createMeshDir(
      {
        ...creator("a00003"),
        pid: deadPid(),
        sidecars: [{ spiffeId: "spiffe://topocast/web/0", netns: "x", pid: process.pid, pidStart: 1 }],
      },
      dir,
    );
    const reused = { spiffeId: "spiffe://topocast/web/0", netns: "x", pid: process.pid, pidStart: 1 };
    assert.equal(signalSidecar(reused, "SIGKILL"), false, "not signalled");
    // cleanup goes through the same check: this very process, recorded with another start time, survives it
    assert.deepEqual(cleanupSidecars({ dir }), ["a00003"]);
  });
});
