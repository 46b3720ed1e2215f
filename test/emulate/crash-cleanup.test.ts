/**
 * Plain `topocast emulate cleanup` after `kill -9` of `topocast emulate up` at any phase (root). The real CLI runs
 * as a child with its own run directory; a wrapper put first on its PATH stands in for `ip` or `tc` and, for the
 * one command that marks the phase, records its pid and sleeps instead, so the child is held exactly there:
 *
 *   phase                    held at                                  objects of the run at the kill
 *   capability probe         the probe's first `tc` (htb on the veth)  `tc<run>-probe` with a veth pair
 *   namespaces built         stage 2's `tc -batch` (rates)             every namespace and veth, no rates
 *   wire relays starting     the relay of n2 (`ip netns exec ... n2`)  everything, relays of n0/n1 running
 *
 * After the kill, `cleanup` (no run id, no --orphans) must leave nothing with the run's prefix: no namespace, no
 * interface, no process in its namespaces, no state file. The test looks at that run's objects only.
 *
 *   n0 --- n1 --- n2 --- n0    3-node ring, 1 ms links (the userspace wire where the kernel has no netem)
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { chooseMechanisms, findTool } from "../../emulate/capabilities.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { cleanup, listNamespaces, pidsIn, status } from "../../emulate/substrate.ts";
import { assertRunsGone, capabilities, leftovers, needs } from "../helpers/emulation.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";

const BIN = resolve(REPO_ROOT, "bin/topocast.js");
const RING = `name: crash
topology: {generator: {kind: ring, n: 3}, links: {capacity: 1Gbps, delay: 1ms}}
policies: [{name: shortest-path}]
emulation: {rateScale: 0.01, queue: 1000p}
`;

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

interface Phase {
  name: string;
  tool: "ip" | "tc";
  /** A `case` pattern over " <args> " that marks the phase (shell glob, quoted parts literal). */
  pattern: string;
  /** Namespaces of the run expected at the kill. */
  namespaces: number;
  /** Wait for at least this many processes in the run's namespaces before the kill. */
  processes: number;
}

const PHASES: Phase[] = [
  { name: "capability probe", tool: "tc", pattern: `*'-probe '*`, namespaces: 1, processes: 0 },
  { name: "namespaces built", tool: "tc", pattern: `*' -batch '*`, namespaces: 3, processes: 0 },
  {
    name: "wire relays starting",
    tool: "ip",
    pattern: `*' exec tc'*'-n2 nice '*`,
    namespaces: 3,
    processes: 1,
  },
];

/**
 * A wrapper for `tool` that holds when its arguments match: it appends its pid and arguments to `marker` (one line)
 * and sleeps; otherwise it runs the real tool.
 */
function wrapper(dir: string, tool: string, real: string, pattern: string, marker: string): void {
  const file = join(dir, tool);
  writeFileSync(
    file,
    `#!/bin/sh\ncase " $* " in\n  ${pattern}) echo "$$ $*" >> '${marker}'; exec sleep 120 ;;\nesac\nexec '${real}' "$@"\n`,
  );
  chmodSync(file, 0o755);
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function topocast(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: REPO_ROOT, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const kill = (pid: number) => {
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
};

describe("emulate cleanup after kill -9 of emulate up", async () => {
  const skip = await needs(["veth", "htb"]);
  const wired = skip ? true : chooseMechanisms(await capabilities()).delay === "wire";
  const runner = new ProcessRunner();

  for (const phase of PHASES) {
    const why =
      phase.name === "wire relays starting" && !wired ? "the kernel has netem: no wire relays" : skip;
    it(`removes everything of the run when killed during the ${phase.name}`, { skip: why }, async () => {
      const work = mkdtempSync(join(tmpdir(), "topocast-crash-"));
      temps.push(work);
      const [runDir, bin, marker, config] = ["runs", "bin", "held", "ring.yaml"].map((f) => join(work, f));
      for (const d of [runDir!, bin!]) mkdirSync(d);
      writeFileSync(config!, RING);
      const real = await findTool(phase.tool);
      assert.ok(real, `${phase.tool} on PATH`);
      wrapper(bin!, phase.tool, real, phase.pattern, marker!);
      const env = { ...process.env, TOPOCAST_RUN_DIR: runDir! };
      const childEnv = { ...env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` };
      let child: ChildProcess | undefined;
      let runId: string | undefined;
      /** The held commands: pid and arguments. */
      const held = () =>
        existsSync(marker!)
          ? readFileSync(marker!, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((l) => ({ pid: Number(l.split(" ")[0]), args: l }))
          : [];
      try {
        child = spawn(process.execPath, [BIN, "emulate", "up", config!], {
          cwd: REPO_ROOT,
          env: childEnv,
          stdio: "ignore",
        });
        const first = await until(`the child to reach the ${phase.name}`, () => held()[0]);
        const id = /tc([0-9a-f]{6})-/.exec(first.args)?.[1];
        assert.ok(id, `a run prefix in the held command: ${first.args}`);
        runId = id;
        const namespaces = await listNamespaces(runner, id);
        assert.equal(namespaces.length, phase.namespaces, namespaces.join(", "));
        const pids = await until("processes in the run's namespaces", () => {
          const p = pidsIn(namespaces);
          return p.length >= phase.processes ? p : undefined;
        });

        // While the creator runs, plain cleanup leaves its run alone.
        const alive = (await status({ dir: runDir! })).find((s) => s.runId === id);
        assert.equal(alive?.controllerAlive, true, JSON.stringify(alive));
        assert.deepEqual(await cleanup({ dir: runDir! }), []);
        assert.equal((await listNamespaces(runner, id)).length, phase.namespaces);

        child.kill("SIGKILL");
        await new Promise((r) =>
          child!.exitCode !== null || child!.signalCode !== null ? r(0) : child!.once("exit", r),
        );
        for (const h of held()) kill(h.pid);
        assert.notDeepEqual(await leftovers(id, runDir), [], "the kill left the run's objects");

        const r = topocast(env, "emulate", "cleanup");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`removed .*${id}`));
        await assertRunsGone([id], runDir);
        assert.deepEqual(
          pids.filter((p) => existsSync(`/proc/${p}`)),
          [],
          "processes of the run still alive",
        );
      } finally {
        if (child?.pid) kill(child.pid);
        for (const h of held()) kill(h.pid);
        if (runId) await cleanup({ runId, dir: runDir! });
      }
    });
  }
});
