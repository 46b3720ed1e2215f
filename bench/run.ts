/**
 * `npm run bench -- <name...>`: runs benchmarks and writes results/bench/<name>.json (atomically) with machine facts.
 * Without a name, runs all. Speed targets live here, never in timed tests.
 */
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { writeJsonAtomic } from "../sim/io/atomic-write.ts";

export type BenchResult = Record<string, unknown>;

const BENCHES: Record<string, () => Promise<{ run: () => BenchResult | Promise<BenchResult> }>> = {
  kernel: () => import("./kernel.ts"),
  flow: () => import("./flow.ts"),
  lstm: () => import("./lstm.ts"),
  emulate: () => import("./emulate.ts"),
  wire: () => import("./wire.ts"),
  "ns3-dumbbell": () => import("./ns3-dumbbell.ts"),
  "fidelity-ns3": () => import("./fidelity-ns3.ts"),
  dht: () => import("./dht.ts"),
  "dht-emulate": () => import("./dht-emulate.ts"),
  verbs: () => import("./verbs.ts"),
  "sidecar-tls": () => import("./sidecar-tls.ts"),
  persona: () => import("./persona.ts"),
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const selected = names.length ? names : Object.keys(BENCHES);
  for (const name of selected) {
    const load = BENCHES[name];
    if (!load) {
      console.error(`unknown benchmark "${name}"; available: ${Object.keys(BENCHES).join(", ")}`);
      process.exit(2);
    }
    const mod = await load();
    const result = await mod.run();
    const out = resolve(import.meta.dirname ?? ".", "../results/bench", `${name}.json`);
    const record = {
      name,
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryBytes: totalmem(),
      ...result,
    };
    writeJsonAtomic(out, record);
    console.log(JSON.stringify(record, null, 2));
    console.log(`wrote ${out}`);
  }
}

await main();
