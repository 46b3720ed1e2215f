/**
 * The project's import graph and its layer rules (docs/architecture.md), for the layering test.
 *
 * Reading. Every `.ts` file under the layered folders is pre-processed by the TypeScript compiler
 * (`ts.preProcessFile`), which lists static imports (`import ... from`, `import type`, side-effect imports),
 * re-exports (`export ... from`) and dynamic `import("...")` with a literal specifier. Only relative specifiers
 * are edges; packages and `node:` modules are not files of the project. Type-only imports count: a type is a
 * dependency of the design even when it costs nothing at run time.
 *
 * Layers, lowest first (a file may import its own layer or a lower one, never a higher one):
 * 0 base (sim/kernel, sim/substrate, sim/io, sim/units.ts), 1 models, 2 sim engines (sim/transport, sim/control,
 * sim/metrics, sim/engine, sim/services), 3 emulate, 4 experiments. So policies (models/policies), like all of
 * models/, import only models/ and base. A file under the layered folders that matches no layer is itself a violation, so a new folder must be
 * placed in a layer here before it can hold code.
 *
 * Cycles: strongly connected components of the file graph (Tarjan's algorithm, iterative); every component with
 * more than one file, or a file importing itself, is a cycle.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** The folders whose files are layered (paths relative to the repository root). */
export const LAYERED_FOLDERS = ["sim", "models", "emulate", "experiments"] as const;

export interface Layer {
  name: string;
  /** Lower ranks are lower layers. */
  rank: number;
  /** Path prefixes (folders end with "/") or whole file paths, relative to the repository root. */
  paths: readonly string[];
}

export const LAYERS: readonly Layer[] = [
  { name: "base", rank: 0, paths: ["sim/kernel/", "sim/substrate/", "sim/io/", "sim/units.ts"] },
  { name: "models", rank: 1, paths: ["models/"] },
  {
    name: "sim engines",
    rank: 2,
    paths: ["sim/transport/", "sim/control/", "sim/metrics/", "sim/engine/", "sim/services/"],
  },
  { name: "emulate", rank: 3, paths: ["emulate/"] },
  { name: "experiments", rank: 4, paths: ["experiments/"] },
];

/** File -> the project files it imports (all paths relative to the root, with "/" separators). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** The layer of a file, or undefined when no layer claims it. */
export function layerOf(file: string): Layer | undefined {
  return LAYERS.find((l) => l.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
}

/** Relative module specifiers a TypeScript source imports or re-exports (static and literal dynamic imports). */
export function importSpecifiers(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith("."));
}

function tsFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...tsFiles(root, rel));
    else if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

/** Reads the import graph of every `.ts` file under the layered folders of the repository at `root`. */
export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const files = LAYERED_FOLDERS.flatMap((d) => tsFiles(root, d)).sort();
  for (const file of files) {
    const specs = importSpecifiers(readFileSync(join(root, file), "utf8"));
    const targets = specs.map((s) =>
      relative(root, resolve(root, dirname(file), s))
        .split("\\")
        .join("/"),
    );
    graph.set(file, [...new Set(targets)].sort());
  }
  return graph;
}

/** Imports that break a layer rule, as `file -> import (why)` lines, sorted. */
export function layerViolations(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    if (!from) {
      out.push(`${file} (in no layer: add its folder to LAYERS in test/architecture/import-graph.ts)`);
      continue;
    }
    for (const target of targets) {
      const to = layerOf(target);
      if (!to) {
        // A file of a layered folder in no layer is reported as such above.
        if (!isLayered(target)) out.push(`${file} -> ${target} (outside the layered folders)`);
        continue;
      }
      if (to.rank > from.rank) out.push(`${file} -> ${target} (${from.name} imports ${to.name})`);
    }
  }
  return out.sort();
}

function isLayered(file: string): boolean {
  return LAYERED_FOLDERS.some((d) => file.startsWith(`${d}/`));
}

/**
 * Import cycles: each strongly connected component with more than one file (or a file importing itself), its
 * files sorted; components in order of their first file. Tarjan's algorithm with an explicit stack.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const edges = (v: string) => (graph.get(v) ?? []).filter((w) => graph.has(w));
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { v: string; i: number }[] = [{ v: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const out = edges(top.v);
      if (top.i < out.length) {
        const w = out[top.i++]!;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) !== index.get(top.v)) continue;
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== top.v);
      if (scc.length > 1 || edges(top.v).includes(top.v)) cycles.push(scc.sort());
    }
  }
  return cycles.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The imports inside one cycle, as `file -> import` lines (what to cut to break it). */
export function cycleEdges(graph: ImportGraph, cycle: readonly string[]): string[] {
  const inCycle = new Set(cycle);
  return cycle.flatMap((f) => (graph.get(f) ?? []).filter((t) => inCycle.has(t)).map((t) => `${f} -> ${t}`));
}
