/** Robustness (root): crashed and interrupted controllers, and runs side by side. */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { statePath } from "../../emulate/run-state.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { cleanup, down, exec, listNamespaces, pidsIn, up } from "../../emulate/substrate.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const CONTROLLER = fileURLToPath(new URL("./fixtures/controller.ts", import.meta.url));

/** Starts the fixture controller and resolves with it and the run id it prints. */
async function startController(args: string[] = []): Promise<{ child: ChildProcess; runId: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CONTROLLER, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const runId = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /"runId":"([0-9a-f]{6})"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`controller exited with ${code} before printing a run id`)));
  });
  return { child, runId };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });

describe("teardown and cleanup", async () => {
  const skip = await needs(["veth", "vxlan", "htb"]);
  const runner = new ProcessRunner();

  it("after kill -9 of the controller, cleanup leaves no namespace, process or state of the run", {
    skip,
  }, async () => {
    const { child, runId } = await startController();
    try {
      const namespaces = await listNamespaces(runner, runId);
      assert.equal(namespaces.length, 3);
      assert.ok(pidsIn(namespaces).length >= 3, "relays run in the namespaces");
      child.kill("SIGKILL");
      await exited(child);
      assert.ok((await cleanup()).includes(runId));
      assert.deepEqual(pidsIn(namespaces), []);
      assert.equal(existsSync(statePath(runId)), false);
    } finally {
      child.kill("SIGKILL");
      await cleanup({ runId });
      await assertRunsGone([runId]);
    }
  });

  it("SIGINT to a controller owning its run tears the run down", { skip }, async () => {
    const { child, runId } = await startController(["--own"]);
    try {
      assert.equal((await listNamespaces(runner, runId)).length, 3);
      child.kill("SIGINT");
      assert.equal(await exited(child), 130);
      await assertRunsGone([runId]);
    } finally {
      child.kill("SIGKILL");
      await cleanup({ runId });
    }
  });

  it("two runs side by side do not touch each other", { skip }, async () => {
    const caps = await capabilities();
    const topo = line(2, { capacityBps: 10e6, delayNs: 0 });
    const [a, b] = await Promise.all([up(topo, { capabilities: caps }), up(topo, { capabilities: caps })]);
    try {
      assert.notEqual(a.runId, b.runId);
      await down(a.runId);
      await assertRunsGone([a.runId]);
      assert.equal((await listNamespaces(runner, b.runId)).length, 2);
      const r = await exec(b.runId, "n0", ["ip", "-4", "route", "show"]);
      assert.match(r.stdout, new RegExp(b.nodes[1]!.addresses[0]!.replaceAll(".", "\\.")));
    } finally {
      await down(a.runId);
      await down(b.runId);
      await assertRunsGone([a.runId]);
      await assertRunsGone([b.runId]);
    }
  });

  it("down and cleanup of a run that does not exist do nothing", { skip }, async () => {
    const r = await down("abcdef");
    assert.deepEqual([r.namespaces, r.processes], [0, 0]);
    assert.deepEqual(await cleanup({ runId: "abcdef" }), ["abcdef"]);
  });
});
