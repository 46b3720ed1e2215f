/**
 * The verbs' long-lived command channels (emulate/channels.ts): how a request's end and its failing lines are read
 * from the tools' stderr (no root), and on namespaces (root): every outcome of a request reported with its command,
 * the channel going on after a failure or a tool's exit, the probe lane's own process, mirrors set and removed exactly through the channels, the
 * channels' processes gone after `close`, and after `kill -9` of the driver `emulate cleanup` leaving nothing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type BatchTool,
  batchFailures,
  batchRequest,
  ChannelCommands,
  nftRequest,
  nftSentinelEnd,
  OneShotCommands,
} from "../../emulate/channels.ts";
import type { Cmd } from "../../emulate/commands.ts";
import { EmulationControlPlane } from "../../emulate/control-plane.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { cleanup, down, listNamespaces, pidsIn, up } from "../../emulate/substrate.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";
import { namespaceState } from "./fixtures/namespace-state.ts";
import { square } from "./fixtures/square.ts";

describe("reading a channel's answers", () => {
  it("gives each failing ip/tc line its number and the message printed before it", () => {
    const stderr =
      'Error: Unknown device type.\nCommand failed -:3\nCannot find device "x"\nCommand failed -:7\n';
    assert.deepEqual(batchFailures(stderr), [
      { line: 3, message: "Error: Unknown device type." },
      { line: 7, message: 'Cannot find device "x"' },
    ]);
    assert.deepEqual(batchFailures("Error: half a mess"), [], "no line number yet: nothing is complete");
  });

  it("ends an ip request with one sentinel and a tc request (which reads a line ahead) with two", () => {
    const cmds: Cmd[] = [["qdisc", "add", "dev", "lo", "clsact"]];
    const cases: [BatchTool, string][] = [
      ["ip", "qdisc add dev lo clsact\nlink show dev topocast_none\n"],
      ["tc", "qdisc add dev lo clsact\nqdisc show dev topocast_none\nqdisc show dev topocast_none\n"],
    ];
    for (const [tool, text] of cases) assert.deepEqual(batchRequest(tool, cmds), { text, sentinelOffset: 1 });
    assert.throws(
      () => batchRequest("ip", [["addr", "add", "1.2.3.4/32 dev lo"]]),
      EmulationError,
      "one argument",
    );
  });

  it("sends an nft script as one line (one transaction) and finds where the sentinel's error begins", () => {
    const { text, sentinel } = nftRequest(["add table inet t", "add chain inet t c"], 4);
    assert.equal(text, `add table inet t; add chain inet t c\n${sentinel}\n`);
    assert.throws(() => nftRequest(["add table inet t\nflush ruleset"], 5), EmulationError);
    const own = "Error: No such file or directory\nadd chain inet x c\n                  ^\n";
    const end = `Error: No such file or directory\n${sentinel}\n     ^^^^\n`;
    const cases: [string, number][] = [
      [end, 0],
      [own + end, own.length],
      [`${own}Error: No such file or directory\n${sentinel}\n`, -1], // its caret line still to come
    ];
    for (const [stderr, at] of cases) assert.equal(nftSentinelEnd(stderr, sentinel), at, stderr);
  });
});

/** Pids in the run's namespaces whose command line is one of the channels'. */
async function channelPids(runId: string): Promise<number[]> {
  const pids = pidsIn(await listNamespaces(new ProcessRunner(), runId));
  return pids.filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      return argv.includes("-batch") || (argv.includes("nft") && argv.includes("-i"));
    } catch {
      return false;
    }
  });
}

async function until(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  for (const deadline = performance.now() + ms; !(await f()); await sleep(20))
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe("channels on namespaces", async () => {
  const skip = await needs(["veth", "vxlan", "mirred", "nftables"], ["nft"]);

  it("reports each request's failing line with its command and goes on serving the next", {
    skip,
  }, async () => {
    const run = await up(square(), { capabilities: await capabilities() });
    const ch = new ChannelCommands();
    const ns = run.plan.nodes[0]!.netns;
    const addr: Cmd = ["addr", "add", "10.255.255.1/32", "dev", "lo"];
    const clsact: Cmd = ["qdisc", "add", "dev", "lo", "clsact"];
    type Case = [string, () => Promise<void>, RegExp | null];
    const cases: Case[] = [
      ["an ip request that succeeds", () => ch.batch("ip", ns, [addr]), null],
      [
        "the same address again: the failing line named",
        () => ch.batch("ip", ns, [["link", "set", "dev", "lo", "up"], addr]),
        /^ip -n \S+ addr add 10\.255\.255\.1\/32 dev lo: .+/,
      ],
      ["a failure ignored when not checked", () => ch.batch("ip", ns, [addr], { check: false }), null],
      ["a tc request that succeeds", () => ch.batch("tc", ns, [clsact]), null],
      [
        "tc's failing line named",
        () => ch.batch("tc", ns, [clsact]),
        /^tc -n \S+ qdisc add dev lo clsact: .+/,
      ],
      [
        "an argument ip cannot parse: the tool exits",
        () => ch.batch("ip", ns, [["link", "set", "dev", "lo", "mtu", "x"]]),
        /exited .* link set dev lo mtu x/,
      ],
      [
        "a new ip process after the exit",
        () => ch.batch("ip", ns, [["addr", "del", "10.255.255.1/32", "dev", "lo"]]),
        null,
      ],
      ["an nft transaction", () => ch.nft(ns, ["add table inet chtest", "add chain inet chtest c"]), null],
      [
        "an nft statement that fails",
        () => ch.nft(ns, ["add rule inet chtest nochain counter"]),
        /^nft in \S+: Error: .*nochain/s,
      ],
      [
        "a teardown",
        async () => {
          await ch.nft(ns, ["delete table inet chtest"]);
          await ch.batch("tc", ns, [["qdisc", "del", "dev", "lo", "clsact"]]);
        },
        null,
      ],
    ];
    try {
      for (const [name, call, error] of cases) {
        if (error)
          await assert.rejects(
            call(),
            (e: unknown) => e instanceof EmulationError && error.test(e.message),
            name,
          );
        else await call();
      }
      assert.equal(await ch.ruleCounters(ns, "inet", "chtest"), undefined, "the table is gone");
      ch.close();
      await until(
        "the channels to exit after close",
        async () => (await channelPids(run.runId)).length === 0,
      );
    } finally {
      ch.close();
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });

  it("runs the probe lane's requests on their own ip process: they do not wait behind a long change", {
    skip,
  }, async () => {
    const run = await up(square(), { capabilities: await capabilities() });
    const ch = new ChannelCommands();
    const ns = run.plan.nodes[0]!.netns;
    const route = (k: number, verb = "add"): Cmd => {
      const addr = `10.77.${k >> 8}.${k & 255}/32`;
      return ["route", verb, addr, "dev", "lo", "table", "4242"];
    };
    try {
      ch.open(ns, ["ip", "ip-probe"]);
      await ch.batch("ip", ns, [route(0)]);
      await ch.batch("ip", ns, [route(0, "del")], { lane: "probe" });
      assert.equal((await channelPids(run.runId)).length, 2, "two ip processes in the namespace");
      const done: string[] = [];
      const long = Array.from({ length: 4000 }, (_, k) => route(k + 1));
      await Promise.all([
        ch.batch("ip", ns, long).then(() => done.push("changes")),
        ch.batch("ip", ns, [route(0)], { lane: "probe" }).then(() => done.push("probe")),
      ]);
      assert.deepEqual(
        done,
        ["probe", "changes"],
        "the probe's line was not queued behind 4,000 route lines",
      );
      await ch.batch("ip", ns, [["route", "flush", "table", "4242"]], { lane: "probe" });
    } finally {
      ch.close();
      await down(run.runId);
    }
  });

  it("reads device and qdisc statistics on their own channel, as one process per reading would", {
    skip,
  }, async () => {
    const run = await up(square(), { capabilities: await capabilities() });
    const ch = new ChannelCommands();
    const once = new OneShotCommands(new ProcessRunner());
    const ns = run.plan.nodes[0]!.netns;
    try {
      const names = (json: string | undefined) =>
        (JSON.parse(json ?? "null") as { ifname?: string; kind?: string; dev?: string }[]).map(
          (x) => x.ifname ?? `${x.dev}:${x.kind}`,
        );
      type Case = [string, "ip" | "tc", Cmd];
      const cases: Case[] = [
        ["every device's counters", "ip", ["link", "show"]],
        ["every qdisc's counters", "tc", ["qdisc", "show"]],
        ["one device", "ip", ["link", "show", "dev", "lo"]],
      ];
      for (const [what, tool, show] of cases) {
        // Twice on the channel: the second reading comes from the same process.
        for (let i = 0; i < 2; i++)
          assert.deepEqual(
            names(await ch.stats(tool, ns, show)),
            names(await once.stats(tool, ns, show)),
            what,
          );
      }
      assert.equal(
        await ch.stats("ip", ns, ["link", "show", "dev", "nosuchdev0"]),
        undefined,
        "a failing reading",
      );
      assert.deepEqual(
        names(await ch.stats("ip", ns, ["link", "show", "dev", "lo"])),
        ["lo"],
        "and the next one",
      );
    } finally {
      ch.close();
      await down(run.runId);
    }
  });

  it("sets and removes mirrors exactly through the channels, which end with the control plane", {
    skip,
  }, async () => {
    const run = await up(square(), { capabilities: await capabilities() });
    try {
      const ctl = EmulationControlPlane.attach(run.runId);
      const before = await namespaceState(run);
      const pairs = [
        { src: "n0", dst: "n2", path: ["n0", "n3", "n2"] },
        { src: "n2", dst: "n0", path: ["n2", "n1", "n0"] },
        { src: "n1", dst: "n3", path: ["n1", "n0", "n3"] },
      ];
      await Promise.all(pairs.map((p) => ctl.mirror(p, p.path)));
      assert.deepEqual(
        ctl.mirrors.list().map((m) => m.pair),
        ["n0->n2", "n1->n3", "n2->n0"],
      );
      await ctl.sync();
      assert.equal(ctl.observeVerbs(true).mirrors.length, 3, "counters read through the channels");
      assert.ok((await channelPids(run.runId)).length > 0, "channels open");
      await Promise.all(pairs.map((p) => ctl.mirror(p, null)));
      assert.equal(await namespaceState(run), before, "every namespace as before");
      ctl.close();
      await until(
        "the channels to exit after close",
        async () => (await channelPids(run.runId)).length === 0,
      );
    } finally {
      await down(run.runId);
      await assertRunsGone([run.runId]);
    }
  });

  it("leaves nothing after kill -9 of a driver holding channels, once cleanup ran", { skip }, async () => {
    const work = mkdtempSync(join(tmpdir(), "topocast-channels-"));
    temps.push(work);
    const runs = join(work, "runs");
    mkdirSync(runs);
    const driver = join(work, "driver.mts");
    const mod = (p: string) => JSON.stringify(resolve(REPO_ROOT, p));
    writeFileSync(
      driver,
      `import { EmulationControlPlane } from ${mod("emulate/control-plane.ts")};
import { up } from ${mod("emulate/substrate.ts")};
import { probe } from ${mod("emulate/capabilities.ts")};
import { ProcessRunner } from ${mod("emulate/runner.ts")};
import { square } from ${mod("test/emulate/fixtures/square.ts")};
const run = await up(square(), { capabilities: await probe(new ProcessRunner()) });
const ctl = EmulationControlPlane.attach(run.runId);
await ctl.mirror({ src: "n0", dst: "n2" }, ["n0", "n3", "n2"]);
process.stdout.write(run.runId + "\\n");
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", driver], {
      cwd: REPO_ROOT,
      env: { ...process.env, TOPOCAST_RUN_DIR: runs },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    let runId: string | undefined;
    try {
      await until("the driver's mirror", async () => /^[0-9a-f]{6}\n/.test(out));
      runId = out.trim();
      assert.ok(
        (await channelPids(runId)).length >= 3,
        "ip, tc and nft channels open in the driver's namespaces",
      );
      child.kill("SIGKILL");
      const id = runId;
      await until("the channels to exit at EOF", async () => (await channelPids(id)).length === 0);
      assert.deepEqual(await cleanup({ dir: runs }), [runId], "the dead driver's run, and only it");
      await assertRunsGone([runId], runs);
    } finally {
      child.kill("SIGKILL");
      if (runId) await down(runId, { dir: runs }).catch(() => {});
    }
  });
});
