/** Run state files (no root needed): exclusive creation, and telling a live creator from a dead or reused pid. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  createState,
  creator,
  creatorAlive,
  type ProbeState,
  processStart,
  readState,
  readStateFile,
} from "../../emulate/run-state.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-run-state-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A process that has exited: its pid, which nothing (or a later process) now holds. */
async function deadPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("run state files", () => {
  it("a probe registers its run id, and a second registration of the same id is refused", () => {
    const probe: ProbeState = { ...creator("00aa01"), status: "probing" };
    createState(probe, dir);
    assert.deepEqual(readStateFile("00aa01", dir), probe);
    assert.equal(readState("00aa01", dir), undefined, "a probe is not a run");
    assert.throws(() => createState(probe, dir), /run id 00aa01 is in use/);
  });

  it("reads a process's start time even when its command name holds spaces and parentheses", async () => {
    const odd = join(dir, "x) y (z");
    copyFileSync("/bin/sleep", odd);
    const child = spawn(odd, ["5"]);
    try {
      const start = processStart(child.pid!);
      assert.ok(Number.isSafeInteger(start), `start of ${child.pid}: ${start}`);
      assert.ok(start! >= processStart(process.pid)!);
    } finally {
      child.kill("SIGKILL");
    }
  });

  const cases: [string, () => Promise<{ pid: number; pidStart?: number }>, boolean][] = [
    ["a live creator with its start time is alive", async () => creator("00aa02"), true],
    [
      "a live pid with another start time (a reused pid) is not the creator",
      async () => {
        const c = creator("00aa03");
        return { pid: c.pid, pidStart: c.pidStart! + 1 };
      },
      false,
    ],
    [
      "a file without a start time (older versions) goes by the pid alone",
      async () => ({ pid: process.pid }),
      true,
    ],
    ["an exited creator is dead", async () => ({ pid: await deadPid(), pidStart: 1 }), false],
  ];
  for (const [name, make, alive] of cases) {
    it(name, async () => {
      assert.equal(creatorAlive(await make()), alive);
    });
  }
});
