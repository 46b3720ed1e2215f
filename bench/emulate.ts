/**
 * Emulation set-up and teardown time (root): circulant topologies C_n(1, 2) (a ring plus a ring of skip-one
 * chords: n nodes, 2n links) of 12, 100 and 250 nodes, as namespaces with veths, htb on every end and static
 * routes between all node pairs; plus 12 and 100 nodes with 1 ms links, which become userspace wires (VXLAN and
 * one relay process per namespace) on kernels without netem. Target: 100 nodes and 200 links up in < 5 s and
 * down in < 5 s. Reference: Mininet PR #474 reports 60 s to start a 200-switch linear topology.
 */
import { probe } from "../emulate/capabilities.ts";
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
  return {
    workload:
      "circulant C_n(1,2) topologies (n nodes, 2n links): namespaces, veths, htb, all-pairs static routes",
    target: { nodes: 100, links: 200, upSeconds: 5, downSeconds: 5 },
    reference: "Mininet PR #474: 60 s to start a 200-switch linear topology",
    met: at100.upSeconds < 5 && at100.downSeconds < 5,
    capabilities: capabilities.features,
    results,
  };
}
