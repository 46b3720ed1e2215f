import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsonSchemaText, SCHEMA_FILE } from "../../experiments/config/json-schema.ts";
import { expandEnv, loadConfig, parseConfig } from "../../experiments/config/load.ts";
import { formatPath, parsePath, setAt } from "../../experiments/config/paths.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { REPO_ROOT, readsSharedData, skipUnlessShared } from "../helpers/shared-data.ts";

const CONFIGS = join(REPO_ROOT, "experiments/configs");
const MINIMAL = "name: m\ntopology: {zoo: Abilene}\npolicies: [{name: ecmp}]\n";

describe("experiment config schema", () => {
  it("is committed as experiments/topocast.schema.json, up to date (run `npm run schema` after changing it)", () => {
    assert.deepEqual(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")), JSON.parse(jsonSchemaText()));
  });

  it("fills every default into the effective config", () => {
    const c = parseConfig(MINIMAL, "m.yaml", "/base").config;
    assert.equal(c.seed, 1);
    assert.equal(c.runs, 1);
    assert.deepEqual(c.topology.links, { capacity: "10Gbps", delay: "1ms", delayFromCoordinates: true });
    assert.deepEqual(c.workload.tm, { kind: "uniform", rate: "1Gbps" });
    assert.deepEqual(c.workload.window, { start: "0s", duration: "10s" });
    assert.deepEqual(c.workload.flowSizes, { bundled: "websearch", unit: "1B" });
    assert.deepEqual(c.policies[0], {
      name: "ecmp",
      params: { weight: "delay", maxPaths: 16, reroute: true },
    });
    assert.deepEqual(c.metrics, { interval: "100ms", sizeBuckets: ["100kB", "10MB"] });
    assert.deepEqual(c.failures, []);
  });

  it("applies --set overrides (YAML values) and --seed before validating", () => {
    const c = parseConfig(MINIMAL, "m.yaml", "/base", {
      set: [
        "workload.load.targetMlu=0.9",
        "policies[0].params.maxPaths=4",
        "policies[1]={name: shortest-path}",
      ],
      seed: 42,
    }).config;
    assert.equal(c.workload.load.targetMlu, 0.9);
    assert.equal(c.policies[0]!.params.maxPaths, 4);
    assert.equal(c.policies[1]!.name, "shortest-path");
    assert.equal(c.seed, 42);
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: the ${VAR} syntax of config paths under test
  it("resolves paths against the config's directory and expands environment variables", () => {
    const text = "name: p\ntopology: {file: '${TC_TEST_DIR:-nets}/a.graphml'}\npolicies: [{name: ecmp}]\n";
    assert.equal(parseConfig(text, "p.yaml", "/base").config.topology.file, "/base/nets/a.graphml");
    assert.equal(expandEnv("${X:-d}/y", { X: "/abs" }), "/abs/y");
    assert.throws(() => expandEnv("${NOPE_UNSET_VAR}/y", {}), /NOPE_UNSET_VAR is not set/);
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: see above

  it("gives the same hash to configs that differ only in key order", () => {
    const a = parseConfig(MINIMAL, "a.yaml", "/b").hash;
    const b = parseConfig(
      "policies: [{name: ecmp}]\ntopology: {zoo: Abilene}\nname: m\n",
      "b.yaml",
      "/b",
    ).hash;
    assert.equal(a, b);
  });

  const paths: [string, (string | number)[]][] = [
    ["seed", ["seed"]],
    ["policies[2].params.weight", ["policies", 2, "params", "weight"]],
    ["policies.2.label", ["policies", 2, "label"]],
    ['sweep.grid["workload.load.targetMlu"]', ["sweep", "grid", "workload.load.targetMlu"]],
  ];
  for (const [text, keys] of paths) {
    it(`parses the path ${text}`, () => assert.deepEqual(parsePath(text), keys));
  }

  it("prints paths the way it parses them", () => {
    assert.equal(formatPath(["policies", 2, "params", "weight"]), "policies[2].params.weight");
    assert.deepEqual(setAt({ a: [1, 2] }, ["a", 1], 5), { a: [1, 5] });
  });
});

describe("committed experiment configs", () => {
  const files = readdirSync(CONFIGS)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  for (const f of files) {
    const text = readFileSync(join(CONFIGS, f), "utf8");
    it(`${f} references the schema and is valid`, { skip: readsSharedData(text) && skipUnlessShared }, () => {
      assert.match(text, /^# yaml-language-server: \$schema=\.\.\/topocast\.schema\.json$/m);
      const loaded = loadConfig(join(CONFIGS, f));
      const { scenario } = buildScenario(loaded, 0);
      assert.ok(scenario.policies.length >= 1);
    });
  }
});
