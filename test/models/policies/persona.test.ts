/**
 * The persona policy in the simulator: a persona's changes go through the journal, a deliberately wrong persona
 * (an allow-list without the application's real caller) is reverted within two control intervals of its effect,
 * and the revert leaves virtual links, routes, QoS classes and the firewall's decisions exactly as before.
 *
 *   n0 --- n1        web at n0 (port 8080) calls db at n2 (port 5432); clients at n1 call web;
 *   |       |        background: a uniform matrix between every pair
 *   n3 --- n2
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig, parseConfig } from "../../../experiments/config/load.ts";
import { buildScenario } from "../../../experiments/scenario.ts";
import type { Persona } from "../../../models/personas/profile.ts";
import { type PersonaEvent, PersonaPolicy } from "../../../models/policies/persona.ts";
import type { FirewallRule, Observation, Policy, PolicyEvent } from "../../../models/policies/types.ts";
import { type FlowMatchFields, matchesFlowFields } from "../../../models/policies/verb-args.ts";
import { runPolicy } from "../../../sim/engine/run.ts";
import type { EnginePolicy } from "../../../sim/engine/types.ts";
import { personaWith } from "../personas/fixture.ts";

const MS = 1_000_000;
const INTERVAL_NS = 100 * MS;
const dir = mkdtempSync(join(tmpdir(), "topocast-persona-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** db's persona: web may call it; `allow` replaced makes it wrong. */
function dbPersona(allow: Persona["desired"]["security"]["allow"]): Persona {
  return personaWith("db", [5432], {
    topology: "star",
    qos: { priority: 1, rateBps: 20e6, ceilBps: 1e9 },
    security: { allow, defaultDeny: true, alertOn: ["denied-flow"] },
    routing: "latency",
  });
}
const GOOD = dbPersona([{ peer: { kind: "app", name: "web" }, port: 5432, protocol: "tcp" }]);
/** Allows only n3, where nothing of db's runs: web's calls are refused. */
const WRONG = dbPersona([{ peer: { kind: "node", name: "n3" }, port: 5432 }]);

function config(personaFile: string, threshold: number): string {
  return `name: persona-test
seed: 5
topology: {generator: {kind: ring, n: 4}, links: {capacity: 1Gbps, delay: 1ms}}
workload:
  tm: {kind: uniform, rate: 100Mbps}
  window: {duration: 2s}
  applications:
    apps:
      - {name: web, instances: [n0], port: 8080}
      - {name: db, instances: [n2], port: 5432}
    calls:
      - {from: web, to: db, request: 1kB, response: 20kB}
    entries:
      - {app: web, requestsPerSecond: 200, clients: [n1], request: 1kB, response: 50kB}
policies: [{name: persona, params: {personas: [${personaFile}], threshold: ${threshold}}}]
control: {interval: 100ms}
metrics: {interval: 100ms}
`;
}

interface Run {
  events: PersonaEvent[];
  /** The run records' policy events. */
  recorded: readonly PolicyEvent[];
  /** The Observation of every decision, in order. */
  seen: Observation[];
}

/** Runs the config's persona policy (db's persona from a file), keeping its observations and events. */
async function run(doc: Persona, threshold = 0.2): Promise<Run> {
  const file = join(dir, `db-${threshold}-${doc.desired.security.allow[0]!.peer.name}.json`);
  writeFileSync(file, JSON.stringify(doc));
  const sc = buildScenario(parseConfig(config(JSON.stringify(file), threshold), "p.yaml", dir), 0).scenario;
  const base = sc.policies[0]!;
  const seen: Observation[] = [];
  let inner: PersonaPolicy | undefined;
  const policy: EnginePolicy = {
    ...base,
    controller: async (ctx) => {
      inner = (await base.controller!(ctx)) as PersonaPolicy;
      const p = inner;
      const observing: Policy = {
        name: "observing persona",
        decide(obs, ctl) {
          seen.push(obs);
          return p.decide(obs, ctl);
        },
        policyEvents: () => p.policyEvents(),
      };
      return observing;
    },
  };
  const records = await runPolicy(sc, policy);
  assert.ok(inner instanceof PersonaPolicy);
  return { events: inner.events, seen, recorded: records.policyEvents ?? [] };
}

/** The firewall's decision for flows of every pair to every port the test uses, as "src->dst port" denied. */
function denied(o: Observation): string[] {
  const rules: FirewallRule[] = (o.firewall?.rules ?? []).map((r) => r.rule);
  const out: string[] = [];
  for (const s of o.nodes)
    for (const d of o.nodes)
      for (const f of [
        {},
        { port: 5432, protocol: "tcp" },
        { port: 8080, protocol: "tcp" },
      ] as FlowMatchFields[]) {
        const last = rules.findLast(
          (r) => (r.src ?? s) === s && (r.dst ?? d) === d && matchesFlowFields(r, f),
        );
        if (s !== d && last?.action === "deny") out.push(`${s}->${d} ${f.port ?? "-"}`);
      }
  return out;
}

/** What a revert must restore. */
function state(o: Observation) {
  return {
    virtualLinks: o.virtualLinks.map((v) => [v.src, v.dst, v.path.join(" "), v.rateBps]),
    routes: [...o.routes].map(([k, p]) => `${k} ${p.join(" ")}`),
    qos: o.qos ?? [],
    denied: denied(o),
  };
}

describe("the persona policy", () => {
  it("reverts a wrong persona within two control intervals of its effect, and the refusals stop", async (t) => {
    const { events, seen, recorded } = await run(WRONG);
    assert.deepEqual(
      recorded.map((e) => [e.kind, e.subject]),
      [
        ["persona-apply", "db"],
        ["persona-revert", "db"],
      ],
      "the run records carry the events",
    );
    const apply = events.find((e) => e.event === "apply");
    const revert = events.find((e) => e.event === "revert");
    assert.ok(apply && revert, `events: ${JSON.stringify(events)}`);
    assert.equal(apply.application, "db");
    // Applied at the decision at apply.timeNs: the next interval is the first that shows the effect.
    assert.ok(revert.timeNs - apply.timeNs <= 2 * INTERVAL_NS, `${apply.timeNs} -> ${revert.timeNs}`);
    assert.match(revert.reason ?? "", /refused share/);
    assert.equal(revert.changes, apply.changes);
    const refusedAt = (o: Observation) =>
      (o.applicationFlows ?? [])
        .filter((f) => f.application.includes("db"))
        .reduce((a, f) => a + f.refused, 0);
    const during = seen.filter((o) => o.timeNs > apply.timeNs && o.timeNs <= revert.timeNs);
    // The first Observation after the apply that shows refusals: the effect is measurable from there.
    const effect = during.find((o) => refusedAt(o) > 0);
    assert.ok(effect && revert.timeNs - effect.timeNs <= 2 * INTERVAL_NS, `effect ${effect?.timeNs}`);
    t.diagnostic(
      `apply -> revert ${(revert.timeNs - apply.timeNs) / INTERVAL_NS} intervals; effect measurable -> revert ${(revert.timeNs - effect.timeNs) / INTERVAL_NS}`,
    );
    assert.ok(
      during.some((o) => refusedAt(o) > 0),
      "the wrong allow-list refused web's calls",
    );
    const later = seen.filter((o) => o.timeNs > revert.timeNs + INTERVAL_NS);
    assert.ok(later.length > 0);
    assert.ok(
      later.every((o) => refusedAt(o) === 0),
      "nothing refused once the revert took effect",
    );
    assert.equal(
      events.filter((e) => e.event === "apply").length,
      1,
      "a reverted persona is not tried again",
    );
  });

  it("diff, apply and revert leave virtual links, routes, QoS and firewall decisions exactly as before", async () => {
    const { events, seen } = await run(WRONG);
    const apply = events.find((e) => e.event === "apply")!;
    const revert = events.find((e) => e.event === "revert")!;
    const at = (t: number) => seen.find((o) => o.timeNs === t)!;
    const before = state(at(apply.timeNs));
    const applied = state(at(apply.timeNs + INTERVAL_NS));
    assert.notDeepEqual(applied, before, "the persona changed the network");
    assert.ok(applied.virtualLinks.length > 0 && applied.qos.length > 0 && applied.denied.length > 0);
    assert.deepEqual(state(at(revert.timeNs + INTERVAL_NS)), before);
  });

  it("keeps a persona whose application does not get worse, and then has nothing left to change", async () => {
    const { events, seen } = await run(GOOD, 10);
    assert.deepEqual(
      events.map((e) => [e.application, e.event]),
      [
        ["db", "apply"],
        ["db", "keep"],
      ],
    );
    const last = seen.at(-1)!;
    assert.ok(
      last.virtualLinks.some((v) => v.src === "n2" || v.dst === "n2"),
      "the star's links stay",
    );
    assert.ok(
      (last.applicationFlows ?? []).every((f) => f.refused === 0),
      "web's calls to db are allowed",
    );
  });

  it("gives its application classes matched by its port, holding its exchanges on pairs the matrix shares", async () => {
    const withPeers: Persona = {
      ...GOOD,
      fingerprint: {
        ...GOOD.fingerprint,
        peers: [{ app: "web", critical: false, ports: [5432], bytes: 1, flows: 1 }],
      },
    };
    const matched = (await run(withPeers, 10)).seen.at(-1)!.qos ?? [];
    assert.deepEqual(
      matched.map((q) => [`${q.src}->${q.dst}`, q.match ?? null, q.priority]),
      [
        ["n0->n2", { port: 5432 }, 1],
        ["n2->n0", { port: 5432 }, 1],
      ],
      "db's exchanges with web, both ways, whatever else n0<->n2 carries",
    );
  });

  it("experiments/configs/personas.yaml runs: its wrong personas (game's, trading's) are reverted, one interval after they were applied", async () => {
    const loaded = loadConfig(join(import.meta.dirname, "../../../experiments/configs/personas.yaml"), {
      set: ["workload.window.duration=1s"],
    });
    const sc = buildScenario(loaded, 0).scenario;
    const wrong = sc.policies.find((p) => p.label === "persona-wrong")!;
    const events = (await runPolicy(sc, wrong)).policyEvents ?? [];
    for (const app of ["game", "trading"]) {
      const apply = events.find((e) => e.subject === app && e.kind === "persona-apply");
      const revert = events.find((e) => e.subject === app && e.kind === "persona-revert");
      assert.ok(apply && revert, `${app}: ${JSON.stringify(events)}`);
      assert.equal(revert.timeNs - apply.timeNs, INTERVAL_NS);
    }
  });
});
