/**
 * Emulation set-up and teardown time (root): circulant topologies C_n(1, 2) (a ring plus a ring of skip-one
 * chords: n nodes, 2n links) of 12, 100 and 250 nodes, as namespaces with veths, htb on every end and static
 * routes between all node pairs; plus 12 and 100 nodes with 1 ms links, which become userspace wires (VXLAN and
 * one relay process per namespace) on kernels without netem. Target: 100 nodes and 200 links up in < 5 s and
 * down in < 5 s. Reference: Mininet PR #474 reports 60 s to start a 200-switch linear topology.
 *
 * Against the floor (issue 13's target: `up` within 1.5x): the same objects (the same plan's batch files) created
 * by one shell script of raw `ip -batch`, `ip netns exec ... sysctl`, `ip -n <ns> -batch`, `tc -n <ns> -batch`
 * run one after the other, as an operator would write it; `up` and the script alternate, `rawRepeats` times each,
 * and the medians are compared. The script's namespaces carry a fresh run prefix and are deleted by exact name.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Capabilities, chooseMechanisms, probe } from "../emulate/capabilities.ts";
import { batchText, netnsDel } from "../emulate/commands.ts";
import { newRunId } from "../emulate/names.ts";
import {
  bridgeCommands,
  nodeCommands,
  planSubstrate,
  rootCommands,
  sysctlCommand,
  tcCommands,
} from "../emulate/plan.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { down, up } from "../emulate/substrate.ts";
import { type Topology, TopologyBuilder } from "../sim/substrate/topology.ts";
import type { BenchResult } from "./run.ts";

/** C_n(1, 2): node i linked to i+1 and i+2 (mod n); 2n bidirectional links for n >= 5. */
export function circulant(n: number, delayNs = 0): Topology {
  const b = new TopologyBuilder(`circulant(n=${n})`, `bench circulant(n=${n})`, {
    capacityBps: 1e9,
    delayNs,
  });
  const id = (i: number) => `n${String(i).padStart(3, "0")}`;
  for (let i = 0; i < n; i++) b.addNode({ id: id(i) });
  for (let i = 0; i < n; i++) for (const k of [1, 2]) b.addLink(id(i), id((i + k) % n));
  return b.build();
}

export async function run(): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "needs root (network namespaces)" };
  const runner = new ProcessRunner();
  const capabilities = await probe(runner);
  const cases: { nodes: number; delayNs: number }[] = [
    { nodes: 12, delayNs: 0 },
    { nodes: 100, delayNs: 0 },
    { nodes: 250, delayNs: 0 },
    { nodes: 12, delayNs: 1_000_000 },
    { nodes: 100, delayNs: 1_000_000 },
  ];
  const results = [];
  for (const c of cases) {
    const topo = circulant(c.nodes, c.delayNs);
    const r = await up(topo, { capabilities, runner });
    const d = await down(r.runId, { runner });
    results.push({
      nodes: c.nodes,
      links: topo.linkCount / 2,
      delayNs: c.delayNs,
      kind: r.plan.links[0]?.kind,
      upSeconds: r.timings.totalMs / 1e3,
      upStagesMs: r.timings,
      downSeconds: d.ms / 1e3,
    });
    console.error(JSON.stringify(results.at(-1)));
  }
  const at100 = results.find((x) => x.nodes === 100 && x.delayNs === 0)!;
  const againstRaw = await upAgainstRawBatch(circulant(100), capabilities, runner);
  return {
    workload:
      "circulant C_n(1,2) topologies (n nodes, 2n links): namespaces, veths, htb, all-pairs static routes",
    target: { nodes: 100, links: 200, upSeconds: 5, downSeconds: 5 },
    reference: "Mininet PR #474: 60 s to start a 200-switch linear topology",
    met: at100.upSeconds < 5 && at100.downSeconds < 5,
    capabilities: capabilities.features,
    results,
    againstRaw,
  };
}

/** Single-quoted for bash (the batch files' arguments are already checked; this only guards the script). */
const sh = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;

/**
 * Wall seconds of one bash script creating `topo`'s plan with raw batch files, one command after the other; the
 * namespaces are deleted afterwards (not timed).
 */
function rawBatchSeconds(topo: Topology, capabilities: Capabilities): number {
  const plan = planSubstrate(topo, newRunId(), chooseMechanisms(capabilities));
  const dir = mkdtempSync(join(tmpdir(), "topocast-bench-raw-"));
  const lines = ["set -e", `ip -batch ${sh(join(dir, "root.batch"))}`];
  writeFileSync(join(dir, "root.batch"), batchText(rootCommands(plan)));
  plan.nodes.forEach((node, i) => {
    lines.push(sysctlCommand(plan, i).map(sh).join(" "));
    for (const [tool, cmds] of [
      ["ip", nodeCommands(plan, i)],
      ["tc", tcCommands(plan, i)],
      ["bridge", bridgeCommands(plan, i)],
    ] as const) {
      if (cmds.length === 0) continue;
      const file = join(dir, `${i}.${tool}`);
      writeFileSync(file, batchText(cmds));
      lines.push(`${tool} -n ${sh(node.netns)} -batch ${sh(file)}`);
    }
  });
  writeFileSync(join(dir, "up.sh"), `${lines.join("\n")}\n`);
  const t0 = performance.now();
  const r = spawnSync("bash", [join(dir, "up.sh")], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1e3;
  spawnSync("ip", ["-batch", "-"], { input: batchText(plan.nodes.map((n) => netnsDel(n.netns))) });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`raw batch script failed: ${r.stderr.trim()}`);
  return seconds;
}

/** `up` against the raw script on `topo`, alternating, medians of `repeats` each. */
async function upAgainstRawBatch(
  topo: Topology,
  capabilities: Capabilities,
  runner: ProcessRunner,
  repeats = 3,
) {
  const upS: number[] = [];
  const rawS: number[] = [];
  for (let k = 0; k < repeats; k++) {
    const r = await up(topo, { capabilities, runner });
    upS.push(r.timings.totalMs / 1e3);
    await down(r.runId, { runner });
    rawS.push(rawBatchSeconds(topo, capabilities));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(upS) / median(rawS);
  return {
    topology: topo.name,
    upSeconds: upS,
    rawBatchSeconds: rawS,
    ratio,
    target: "up within 1.5x of the raw batch script",
    met: ratio <= 1.5,
  };
}
