/**
 * `npm run bench -- <name...> [--key value ...]`: runs benchmarks and writes results/bench/<name>.json (atomically)
 * with machine facts (a benchmark may name its file with `resultName`, e.g. after its options). Without a name,
 * runs all. Options go to every selected benchmark. Speed targets live here, never in timed tests.
 */
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { writeJsonAtomic } from "../sim/io/atomic-write.ts";

export type BenchResult = Record<string, unknown>;

/** Options after the names, `--key value` (e.g. `--flows 100000`), passed to every selected benchmark. */
export type BenchOptions = Readonly<Record<string, string>>;

const BENCHES: Record<
  string,
  () => Promise<{ run: (opts: BenchOptions) => BenchResult | Promise<BenchResult> }>
> = {
  kernel: () => import("./kernel.ts"),
  flow: () => import("./flow.ts"),
  "flow-heavy": () => import("./flow-heavy.ts"),
  "flow-heavy-digest": () => import("./flow-heavy-digest.ts"),
  scaling: () => import("./scaling.ts"),
  lstm: () => import("./lstm.ts"),
  "forecast-latency": () => import("./forecast-latency.ts"),
  emulate: () => import("./emulate.ts"),
  "emulate-limits": () => import("./emulate-limits.ts"),
  wire: () => import("./wire.ts"),
  "ns3-dumbbell": () => import("./ns3-dumbbell.ts"),
  "fidelity-ns3": () => import("./fidelity-ns3.ts"),
  dht: () => import("./dht.ts"),
  "dht-emulate": () => import("./dht-emulate.ts"),
  "dht-intent": () => import("./dht-intent.ts"),
  verbs: () => import("./verbs.ts"),
  "sidecar-tls": () => import("./sidecar-tls.ts"),
  "secure-link": () => import("./secure-link.ts"),
  persona: () => import("./persona.ts"),
  "persona-apply": () => import("./persona-apply.ts"),
};

async function main(): Promise<void> {
  const names: string[] = [];
  const opts: Record<string, string> = {};
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) names.push(a);
    else if (a.includes("=")) opts[a.slice(2, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
    else opts[a.slice(2)] = args[++i] ?? "";
  }
  const selected = names.length ? names : Object.keys(BENCHES);
  for (const name of selected) {
    const load = BENCHES[name];
    if (!load) {
      console.error(`unknown benchmark "${name}"; available: ${Object.keys(BENCHES).join(", ")}`);
      process.exit(2);
    }
    const mod = await load();
    const result = await mod.run(opts);
    const out = resolve(
      import.meta.dirname ?? ".",
      "../results/bench",
      `${typeof result.resultName === "string" ? result.resultName : name}.json`,
    );
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
