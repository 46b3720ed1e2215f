/**
 * `topocast emulate <config>` end to end (root): a config's policies run unchanged on namespaces, replaying the
 * simulator's flows, writing the simulator's results layout plus the sim-vs-emulation comparison (against the
 * TCP-aware fluid model and the packet model, side by side), and tearing
 * everything down. The Abilene example runs too when the shared data (SNDlib, never committed) is present.
 *
 *   n0 --- n1
 *   |       |        4-node ring, 1 Gbit/s and 2 ms, emulated at 50 Mbit/s (rateScale 0.05);
 *   n3 --- n2        n0-n1 fails at 400 ms and comes back at 700 ms
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig, parseConfig } from "../../experiments/config/load.ts";
import { emulateExperiment } from "../../experiments/emulate-experiment.ts";
import type { SimEmuComparison } from "../../experiments/sim-vs-emulation/flow-comparison.ts";
import type { ModelComparison } from "../../experiments/sim-vs-emulation/model-table.ts";
import { assertRunsGone, needs } from "../helpers/emulation.ts";
import { REPO_ROOT, sharedDataDir } from "../helpers/shared-data.ts";

const out = mkdtempSync(join(tmpdir(), "topocast-emulate-test-"));
after(() => rmSync(out, { recursive: true, force: true }));

const RING = `name: ring-emulate
seed: 4
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 2ms}
workload:
  tm: {kind: uniform}
  window: {duration: 1s}
  load: {targetMlu: 0.4, reference: hops}
policies:
  - name: shortest-path
    params: {weight: hops}
  - {name: predictive-overlay, label: overlay-oracle, predictor: {name: oracle}}
failures:
  - {at: 400ms, link: n0->n1, state: down}
  - {at: 700ms, link: n0->n1, state: up}
control: {interval: 100ms, convergenceDelay: 100ms}
metrics: {interval: 100ms}
output: {dir: ${out}}
emulation: {rateScale: 0.05, drain: 5s, compareWith: [fluid-tcp, packet]}
`;

/** The run ids an emulation's manifest names: its capability probe's and every policy's substrate. */
function manifestRunIds(manifest: { emulation?: unknown }): string[] {
  const e = manifest.emulation as { capabilities: { runId: string }; substrates: { runId: string }[] };
  return [e.capabilities.runId, ...e.substrates.map((s) => s.runId)];
}

function csvRows(file: string): string[][] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","));
}

describe("topocast emulate <config>", async () => {
  const skip = await needs(["veth", "htb", "vxlan"]);

  it("runs the policies unchanged on the simulator's flows and writes the simulator's layout plus the comparison", {
    skip,
  }, async () => {
    const loaded = parseConfig(RING, join(out, "ring.yaml"), out);
    const r = await emulateExperiment(loaded, { withSim: true, report: false });
    await assertRunsGone(manifestRunIds(r.manifest));

    for (const f of [
      "config.json",
      "manifest.json",
      "summary.json",
      "flows.csv",
      "links.csv",
      "timeseries.csv",
    ]) {
      assert.ok(existsSync(join(r.simDir!, f)), `sim ${f}`);
      assert.ok(existsSync(join(r.dir, f)), `emulation ${f}`);
    }
    assert.ok(existsSync(join(r.dir, "sim-vs-emulation.json")));
    assert.ok(existsSync(join(r.dir, "sim-vs-emulation.csv")));
    // emulation.compareWith: the TCP-aware fluid model (the config's own, first) and the packet model side by side.
    assert.deepEqual(
      r.sims.map((x) => x.model),
      ["fluid-tcp", "packet"],
    );
    assert.equal(r.sims[0]!.dir, r.simDir);
    assert.ok(existsSync(join(r.sims[1]!.dir, "flows.csv")), "the packet model's own results directory");
    const models = JSON.parse(
      readFileSync(join(r.dir, "sim-models-vs-emulation.json"), "utf8"),
    ) as ModelComparison;
    assert.deepEqual(models.models, ["fluid-tcp", "packet"]);
    assert.ok(models.rows.length > 0);
    for (const row of models.rows) assert.deepEqual(Object.keys(row.models), ["fluid-tcp", "packet"]);
    assert.deepEqual(
      models.effects.map((e) => [e.policy, e.baseline]),
      [["overlay-oracle", "shortest-path"]],
    );

    const m = r.manifest;
    assert.equal(m.engine, "emulate");
    const emu = m.emulation as {
      capabilities: { features: Record<string, boolean>; tools: Record<string, string | null> };
      mechanisms: unknown;
      linkCheck:
        | { link: string; configuredRttMs: number; minRttMs: number | null; received: number }[]
        | string;
    };
    assert.equal(emu.capabilities.features.veth, true);
    assert.deepEqual(emu.mechanisms, {
      rate: "htb",
      delay: emu.capabilities.features.netem ? "netem" : "wire",
    });
    // The achieved delays: every cable pinged; 2 ms each way shows as 4 ms of RTT, give or take the wire's cost.
    if (emu.capabilities.tools.ping) {
      assert.ok(Array.isArray(emu.linkCheck) && emu.linkCheck.length === 4, JSON.stringify(emu.linkCheck));
      for (const l of emu.linkCheck) {
        assert.equal(l.configuredRttMs, 4);
        assert.ok(l.received > 0 && l.minRttMs! >= 3.9 && l.minRttMs! < 8, JSON.stringify(l));
      }
    }

    // The same flows: every emulated flow is the simulator's flow of that id (endpoints, size, start).
    const simFlows = new Map(
      csvRows(join(r.simDir!, "flows.csv")).map((c) => [`${c[0]},${c[1]}`, c.slice(2, 6)]),
    );
    const emuFlows = csvRows(join(r.dir, "flows.csv"));
    for (const c of emuFlows) assert.deepEqual(c.slice(2, 6), simFlows.get(`${c[0]},${c[1]}`), c.join(","));

    for (const p of r.summary.policies) {
      const { started, completed } = p.flowCounts;
      assert.ok(started > 30, `${p.policy}: ${started} flows`);
      assert.ok(completed >= 0.95 * started, `${p.policy}: ${completed} of ${started} flows finished`);
      assert.ok((p.links.meanMlu ?? 0) > 0, `${p.policy}: links carried traffic`);
    }
    const overlay = r.summary.policies.find((p) => p.policy === "overlay-oracle")!;
    const actions = (overlay.overhead as { actions: Record<string, number> }).actions;
    assert.ok((actions.createVirtualLink ?? 0) > 0, `overlay actions ${JSON.stringify(actions)}`);
    // actions.csv holds them, from the recording decorator as in the simulator (with wall latency, ns).
    const actionRows = csvRows(join(r.dir, "actions.csv")).filter((c) => c[0] === "overlay-oracle");
    assert.equal(actionRows.length, overlay.overhead.controlActions);
    assert.ok(
      actionRows.some((c) => c[2] === "createVirtualLink" && Number(c[8]) > 0),
      "recorded with wall_ns",
    );

    // One control driver in both engines: every policy, the static baseline too, reports the pairs the n0-n1
    // failure hit and their time to recover (default routes reconverge 100 ms after it; the link is back at 700 ms).
    // The simulation's pairs are deterministic; the emulation's depend on which flows are still running when the
    // failure's tick comes (test/emulate/driver.test.ts pins that down with one long flow).
    const simSummary = JSON.parse(readFileSync(join(r.simDir!, "summary.json"), "utf8")) as typeof r.summary;
    const recoveriesOf = (p: (typeof r.summary.policies)[number]) =>
      (p.overhead as { recoveries?: { recoveryNs: number | null }[] }).recoveries;
    for (const p of simSummary.policies) assert.ok(recoveriesOf(p)!.length > 0, `simulation ${p.policy}`);
    for (const p of [...simSummary.policies, ...r.summary.policies]) {
      for (const rec of recoveriesOf(p) ?? [])
        assert.ok(rec.recoveryNs !== null && rec.recoveryNs <= 300e6, `${p.policy}: ${JSON.stringify(rec)}`);
    }

    const c = JSON.parse(readFileSync(join(r.dir, "sim-vs-emulation.json"), "utf8")) as SimEmuComparison;
    const all = c.rows.filter((row) => row.bucket === "all");
    assert.deepEqual(
      all.map((row) => row.policy),
      ["shortest-path", "overlay-oracle"],
    );
    for (const row of all) {
      assert.equal(row.matchedFlows, row.emuFlows);
      // TCP's handshake and slow start make emulated flows slower than fluid ones, never faster by much.
      assert.ok(row.matchedFctRatioP50! > 0.8, `${row.policy}: median emu/sim ${row.matchedFctRatioP50}`);
    }
  });

  it("Ctrl-C (SIGINT to the process group) mid-run tears down, writes the partial results and exits with 130", {
    skip,
  }, async () => {
    const file = join(out, "ring-sigint.yaml");
    writeFileSync(file, RING.replace("window: {duration: 1s}", "window: {duration: 20s}"));
    const dir = join(out, "sigint");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO_ROOT, "experiments/cli.ts"),
        "emulate",
        file,
        "--no-report",
        "--out",
        dir,
      ],
      // Its own process group, signalled as a whole below: what a terminal's Ctrl-C does.
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let err = "";
    let armed = false;
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
      if (armed || !err.includes("emulating policy 1/2")) return;
      armed = true;
      setTimeout(() => process.kill(-child.pid!, "SIGINT"), 3000);
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.equal(code, 130, err);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
      emulation: { interrupted: string; substrates: unknown[] };
    };
    assert.equal(manifest.emulation.substrates.length, 1);
    await assertRunsGone(manifestRunIds(manifest));
    assert.match(manifest.emulation.interrupted, /^SIGINT during policy shortest-path/);
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as {
      policies: { policy: string; flowCounts: { completed: number } }[];
    };
    assert.deepEqual(
      summary.policies.map((p) => p.policy),
      ["shortest-path"],
    );
    assert.ok(summary.policies[0]!.flowCounts.completed > 0);
  });

  const abilene = sharedDataDir() === undefined ? "needs the shared data folder (SNDlib Abilene)" : skip;
  it("the Abilene example comes up as 12 namespaces and the overlay builds virtual links", {
    skip: abilene,
  }, async () => {
    const loaded = loadConfig(join(REPO_ROOT, "experiments/configs/abilene-emulate.yaml"), {
      // In 600 ms of Abilene no path is forecast hot at the overlay's default 0.7 (links go only to pairs whose
      // default path is hot): a low threshold makes both overlays build links, which is what this test is about.
      set: [
        `output.dir=${out}`,
        "emulation.duration=600ms",
        "emulation.drain=1s",
        "policies.1.params={maxPathUtilization: 0.05}",
        "policies.2.params={maxPathUtilization: 0.05}",
      ],
    });
    const r = await emulateExperiment(loaded, { report: false });
    await assertRunsGone(manifestRunIds(r.manifest));
    const substrates = (r.manifest.emulation as { substrates: { namespaces: number }[] }).substrates;
    assert.deepEqual(
      substrates.map((s) => s.namespaces),
      [12, 12, 12],
    );
    for (const p of r.summary.policies) {
      assert.ok(
        p.flowCounts.completed >= 0.9 * p.flowCounts.started,
        `${p.policy}: ${JSON.stringify(p.flowCounts)}`,
      );
      if (p.policy.startsWith("overlay")) {
        const actions = (p.overhead as { actions: Record<string, number> }).actions;
        assert.ok((actions.createVirtualLink ?? 0) > 0, `${p.policy}: ${JSON.stringify(actions)}`);
      }
    }
  });

  it("refuses without root, naming what it needs", {
    skip: process.getuid?.() === 0 ? "runs as root" : false,
  }, async () => {
    const loaded = parseConfig(RING, join(out, "ring.yaml"), out);
    await assert.rejects(emulateExperiment(loaded), /needs root/);
  });
});
