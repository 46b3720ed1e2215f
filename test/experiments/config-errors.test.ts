import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { isUserError } from "../../experiments/errors.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { topocast, topocastInProcess } from "./run-cli.ts";

/** What `topocast validate` does, in process: the error it would print, or undefined when the config is valid. */
function validate(file: string, args: string[]): Error | undefined {
  const set = args.flatMap((a, i) => (args[i - 1] === "--set" ? [a] : []));
  try {
    buildScenario(loadConfig(file, { set }), 0);
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

const dir = mkdtempSync(join(tmpdir(), "topocast-config-errors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A valid base config; each case replaces one part. */
const GOOD = `name: bad-configs
topology:
  zoo: Abilene
workload:
  window: {duration: 100ms}
policies:
  - name: shortest-path
`;

const cases: { what: string; yaml: string; message: RegExp; args?: string[] }[] = [
  {
    what: "a capacity with a wrong unit",
    yaml: GOOD.replace("zoo: Abilene", "zoo: Abilene\n  links:\n    capacity: fast"),
    message: /bad\.yaml:5: topology\.links\.capacity: expected a rate such as "10Gbps".*got "fast"/,
  },
  {
    what: "a duration given as a bare number",
    yaml: GOOD.replace("{duration: 100ms}", "{duration: 100}"),
    message: /bad\.yaml:5: workload\.window\.duration: expected a duration such as "10ms".*got 100/,
  },
  {
    what: "gateways without substrates",
    yaml: GOOD.replace("zoo: Abilene", 'zoo: Abilene\n  gateways: [{between: ["a:0", "b:0"]}]'),
    message: /topology\.gateways: gateways join substrates: list `substrates`/,
  },
  {
    what: "a gateway to a node no substrate has",
    yaml: GOOD.replace(
      "zoo: Abilene",
      'substrates:\n    - {name: wan, zoo: Abilene}\n    - {name: dc, generator: {kind: line, n: 2}}\n  gateways: [{between: ["wan:0", "dc:n9"]}]',
    ),
    message:
      /topology\.gateways: gateway 0 \(wan:0 - dc:n9\): "dc:n9" is not <substrate>:<node> of a substrate listed \(wan, dc\)/,
  },
  {
    what: "a substrate with two sources",
    yaml: GOOD.replace(
      "zoo: Abilene",
      "substrates:\n    - {name: wan, zoo: Abilene, generator: {kind: ring, n: 3}}\n    - {name: dc, generator: {kind: line, n: 2}}",
    ),
    message: /topology\.substrates\[0\]: name one source, not zoo and generator/,
  },
  {
    what: "an unknown policy",
    yaml: GOOD.replace("name: shortest-path", "name: teleport"),
    message: /bad\.yaml:7: policies\[0\]\.name: unknown policy "teleport"; known: shortest-path, ecmp/,
  },
  {
    what: "a negative capacity",
    yaml: GOOD.replace("zoo: Abilene", "zoo: Abilene\n  links:\n    capacity: -10Gbps"),
    message: /topology\.links\.capacity: expected a rate .*\(not negative\), got "-10Gbps"/,
  },
  {
    what: "a missing topology file",
    yaml: GOOD.replace("zoo: Abilene", "file: no/such/net.graphml"),
    message: /bad\.yaml:3: topology\.file: .*no[/\\]such[/\\]net\.graphml: no such file/,
  },
  {
    what: "an unknown node in the TM node map",
    yaml: GOOD.replace("workload:", "workload:\n  nodeMap:\n    '0': Atlantis"),
    message: /bad\.yaml:6: workload\.nodeMap\["0"\]: unknown topology node "Atlantis"; Abilene has 0, 1, /,
  },
  {
    what: "malformed YAML",
    yaml: GOOD.replace("policies:", "policies: [\n"),
    message: /bad\.yaml:\d+: malformed YAML: /,
  },
  {
    what: "a misspelt field",
    yaml: GOOD.replace("workload:", "workloda:"),
    message:
      /bad\.yaml:4: workloda: unknown field \(did you mean "workload"\?\); allowed: .*topology, workload/,
  },
  {
    what: "an unknown failing link",
    yaml: `${GOOD}failures:\n  - {at: 1ms, link: "X->Y", state: down}\n`,
    message: /bad\.yaml:9: failures\[0\]\.link: unknown link "X->Y" in Abilene/,
  },
  {
    what: "a bad --set value",
    yaml: GOOD,
    args: ["--set", "workload.load.targetMlu=lots"],
    message: /--set workload\.load\.targetMlu=lots: workload\.load\.targetMlu: expected number, got "lots"/,
  },
];

describe("bad experiment configs", () => {
  for (const c of cases) {
    it(`are rejected as user input (exit 2) naming the field for ${c.what}`, () => {
      const file = join(mkdtempSync(join(dir, "case-")), "bad.yaml");
      writeFileSync(file, c.yaml);
      const e = validate(file, c.args ?? []);
      assert.ok(e, "expected an error");
      assert.ok(isUserError(e), `expected a user error, got ${e.name}: ${e.message}`);
      assert.match(e.message, c.message);
    });
  }

  it("make the CLI exit 2 with the message and no stack trace", async () => {
    const file = join(mkdtempSync(join(dir, "case-")), "bad.yaml");
    writeFileSync(file, cases[0]!.yaml);
    const r = await topocast(["validate", file]);
    assert.equal(r.code, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /^topocast: .*bad\.yaml:5: topology\.links\.capacity: expected a rate/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace without --debug");
  });

  it("make the CLI show the stack trace with --debug (in this process: runCli prints it)", async () => {
    const file = join(mkdtempSync(join(dir, "case-")), "bad.yaml");
    writeFileSync(file, GOOD.replace("name: shortest-path", "name: teleport"));
    const r = await topocastInProcess(["validate", file, "--debug"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ConfigError: .*unknown policy "teleport"[\s\S]*\n\s+at /);
  });

  it("leave the valid base config valid", () => {
    const file = join(mkdtempSync(join(dir, "case-")), "good.yaml");
    writeFileSync(file, GOOD);
    assert.equal(validate(file, []), undefined);
  });
});
