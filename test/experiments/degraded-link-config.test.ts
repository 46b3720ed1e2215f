/**
 * `failures` entries with `state: degraded` (capacity, delay, loss) through a whole simulator run, in both transport
 * models: a degraded link slows the flows over it, a later `up` restores it, the same bytes on a second run; and bad
 * degradations refused naming the entry, the field and the value.
 *
 *     n0 ---- n1 ---- n2 ---- n3 ---- n0     (ring of 4, 100 Mbit/s, 1 ms; n0->n1 degraded from 100 to 700 ms)
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig, parseConfig } from "../../experiments/config/load.ts";
import { runExperiment } from "../../experiments/run-experiment.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-degraded-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, model: string, failures: string): string {
  return `name: ${name}
seed: 5
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 100Mbps, delay: 1ms}
workload:
  tm: {kind: uniform}
  window: {duration: 1s}
  load: {targetMlu: 0.5, reference: hops}
policies:
  - name: shortest-path
failures:
${failures}
metrics:
  interval: 50ms
transport:
  model: ${model}
`;
}

const DEGRADED = `  - {at: 100ms, link: n0->n1, state: degraded, capacity: 10Mbps, delay: 20ms, loss: 0.01}
  - {at: 700ms, link: n0->n1, state: up}`;

async function meanFctNs(name: string, model: string, failures: string, out = name): Promise<number> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, config(name, model, failures));
  const r = await runExperiment(loadConfig(file), { out: join(dir, out), report: false });
  return r.summary.policies[0]!.flows.fctNs!.mean;
}

describe("a degraded link in a simulator run", () => {
  for (const model of ["fluid", "packet"]) {
    it(`slows flows in the ${model} model, and two runs write the same bytes`, async () => {
      const nominal = await meanFctNs(`nominal-${model}`, model, "  []");
      const degraded = await meanFctNs(`degraded-${model}`, model, DEGRADED);
      assert.ok(degraded > 1.03 * nominal, `mean FCT nominal ${nominal} ns, degraded ${degraded} ns`);
      await meanFctNs(`degraded-${model}`, model, DEGRADED, `again-${model}`);
      for (const f of ["summary.json", "flows.csv", "links.csv"]) {
        const a = readFileSync(join(dir, `degraded-${model}`, f), "utf8");
        assert.equal(a, readFileSync(join(dir, `again-${model}`, f), "utf8"), `${f} differs`);
      }
    });
  }
});

describe("bad degradations are refused, naming the entry and the value", () => {
  const cases = [
    {
      what: "a loss of 1",
      failures: "  - {at: 100ms, link: n0->n1, state: degraded, loss: 1}",
      msg: /failures\[0\]\.loss/,
    },
    {
      what: "a capacity without a unit",
      failures: "  - {at: 100ms, link: n0->n1, state: degraded, capacity: 10}",
      msg: /failures\[0\]\.capacity: expected a rate .*got 10/,
    },
    {
      what: "a delay on a link going down",
      failures: "  - {at: 100ms, link: n0->n1, state: down, delay: 5ms}",
      msg: /failures\[0\]\.delay: only a degraded link has a delay; state is "down"/,
    },
    {
      what: "a degradation without a quality",
      failures: "  - {at: 100ms, link: n0->n1, state: degraded}",
      msg: /failures\[0\]\.state: a degraded link needs at least one of capacity, delay or loss/,
    },
    {
      what: "a degradation of a link that is down",
      failures: `  - {at: 100ms, link: n0->n1, state: down}
  - {at: 200ms, link: n0->n1, state: degraded, delay: 5ms}`,
      msg: /failures\[1\]\.state: n0->n1 is down at 200 ms \(failures\[0\]\); degrade a link that is up/,
    },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, config("bad", "fluid", c.failures));
      await assert.rejects(
        (async () => runExperiment(loadConfig(file), { out: join(dir, "bad"), report: false }))(),
        (e: Error) => {
          assert.match(e.message, c.msg);
          assert.ok(!e.message.includes("    at "), "no stack trace");
          return true;
        },
      );
    });
  }

  it("accepts a degradation followed by a repair and another degradation", () => {
    const text = config(
      "ok",
      "fluid",
      `  - {at: 100ms, link: n0->n1, state: degraded, delay: 5ms}
  - {at: 200ms, link: n0->n1, state: degraded, loss: 0.1}
  - {at: 300ms, link: n0->n1, state: down}
  - {at: 400ms, link: n0->n1, state: up}`,
    );
    assert.equal(parseConfig(text, "ok.yaml", ".").config.failures.length, 4);
  });
});
