import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/shared-data.ts";
import {
  cycleEdges,
  type ImportGraph,
  importCycles,
  importSpecifiers,
  layerOf,
  layerViolations,
  readImportGraph,
} from "./import-graph.ts";

const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe("the import-graph reader", () => {
  const cases: { source: string; specifiers: string[] }[] = [
    { source: 'import { a } from "./a.ts";', specifiers: ["./a.ts"] },
    { source: 'import type { B } from "../b.ts";', specifiers: ["../b.ts"] },
    { source: 'export { c } from "./c.ts";\nexport * from "./d.ts";', specifiers: ["./c.ts", "./d.ts"] },
    { source: 'const m = await import("./e.ts");', specifiers: ["./e.ts"] },
    { source: 'import "./side-effect.ts";', specifiers: ["./side-effect.ts"] },
    { source: 'import yaml from "yaml";\nimport { readFileSync } from "node:fs";', specifiers: [] },
    { source: '// import { x } from "./commented.ts";\nconst s = "from \\"./string.ts\\"";', specifiers: [] },
  ];
  for (const c of cases) {
    it(`finds ${c.specifiers.length ? c.specifiers.join(", ") : "no project file"} in ${JSON.stringify(c.source)}`, () => {
      assert.deepEqual(importSpecifiers(c.source), c.specifiers);
    });
  }
});

describe("the layer rules", () => {
  const cases: { what: string; edges: Record<string, string[]>; violations: string[] }[] = [
    {
      what: "an engine importing models and base",
      edges: { "sim/engine/run.ts": ["models/workload/flow-sink.ts", "sim/kernel/simulator.ts"] },
      violations: [],
    },
    {
      what: "a workload importing the transport",
      edges: { "models/workload/x.ts": ["sim/transport/flow-network.ts"] },
      violations: ["models/workload/x.ts -> sim/transport/flow-network.ts (models imports sim engines)"],
    },
    {
      what: "an engine importing a results writer",
      edges: { "emulate/run-state.ts": ["experiments/atomic-write.ts"] },
      violations: ["emulate/run-state.ts -> experiments/atomic-write.ts (emulate imports experiments)"],
    },
    {
      what: "a policy importing an engine's trace bus",
      edges: { "models/policies/p.ts": ["sim/metrics/trace.ts", "models/policies/types.ts"] },
      violations: ["models/policies/p.ts -> sim/metrics/trace.ts (models imports sim engines)"],
    },
    {
      what: "a file in a folder no layer claims",
      edges: { "sim/gadgets/g.ts": ["sim/units.ts"] },
      violations: [
        "sim/gadgets/g.ts (in no layer: add its folder to LAYERS in test/architecture/import-graph.ts)",
      ],
    },
    {
      what: "a model importing a benchmark",
      edges: { "models/m.ts": ["bench/run.ts"] },
      violations: ["models/m.ts -> bench/run.ts (outside the layered folders)"],
    },
  ];
  for (const c of cases) {
    it(`${c.violations.length ? "refuses" : "allows"} ${c.what}`, () => {
      assert.deepEqual(layerViolations(graphOf(c.edges)), c.violations);
    });
  }

  it("places base, models, engines, emulate and experiments files in their layers", () => {
    const files = ["sim/units.ts", "models/x.ts", "sim/control/x.ts", "emulate/x.ts", "experiments/x.ts"];
    assert.deepEqual(
      files.map((f) => layerOf(f)?.name),
      ["base", "models", "sim engines", "emulate", "experiments"],
    );
  });
});

describe("cycle detection", () => {
  it("finds a three-file circle and a file importing itself, and nothing in a chain", () => {
    const g = graphOf({
      "experiments/a.ts": ["experiments/b.ts"],
      "experiments/b.ts": ["experiments/c.ts"],
      "experiments/c.ts": ["experiments/a.ts", "experiments/d.ts"],
      "experiments/d.ts": ["experiments/e.ts"],
      "experiments/e.ts": [],
      "experiments/self.ts": ["experiments/self.ts"],
    });
    assert.deepEqual(importCycles(g), [
      ["experiments/a.ts", "experiments/b.ts", "experiments/c.ts"],
      ["experiments/self.ts"],
    ]);
    assert.deepEqual(cycleEdges(g, ["experiments/a.ts", "experiments/b.ts", "experiments/c.ts"]), [
      "experiments/a.ts -> experiments/b.ts",
      "experiments/b.ts -> experiments/c.ts",
      "experiments/c.ts -> experiments/a.ts",
    ]);
  });
});

describe("topocast's own import graph", () => {
  const graph = readImportGraph(REPO_ROOT);

  it("reads the files of every layered folder", () => {
    for (const f of [
      "sim/kernel/simulator.ts",
      "models/policies/types.ts",
      "emulate/engine.ts",
      "experiments/cli.ts",
    ])
      assert.ok(graph.has(f), `${f} missing from the graph`);
  });

  it("has no import from a lower layer to a higher one", () => {
    const v = layerViolations(graph);
    assert.deepEqual(v, [], `imports against the layers (file -> import):\n  ${v.join("\n  ")}`);
  });

  it("has no import cycle among sim, models, emulate and experiments files", () => {
    const cycles = importCycles(graph);
    const text = cycles.map(
      (c, i) => `cycle ${i + 1}: ${c.join(", ")}\n    ${cycleEdges(graph, c).join("\n    ")}`,
    );
    assert.deepEqual(cycles, [], `import cycles (file -> import):\n  ${text.join("\n  ")}`);
  });
});
