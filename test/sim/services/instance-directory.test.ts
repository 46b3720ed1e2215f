/**
 * Instances discovered through the simulated registry (models/services/instance-directory.ts on the Kademlia model,
 * sim/services/registry.ts), driven by the simulator's clock as a run drives it (sim/control/sim-clock.ts: event
 * time by event time while an operation is in flight). A 6-node ring, 10 ms per link each way, k = 2 so lookups
 * cross the ring; service "web" with instances on n1 and n3 (anycast node svc-web), clients on n0 and n4; TTL 1 s.
 *
 *     n0 -- n1 -- n2
 *     |            |
 *     n5 -- n4 -- n3
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DiscoveryTotals,
  InstanceDirectory,
  type LinkStates,
  RegistryAccess,
} from "../../../models/services/instance-directory.ts";
import { type IntentMesh, resolveMesh } from "../../../models/services/intent-mesh.ts";
import type { Discovery, RegistryService, ResourceRegistry } from "../../../models/services/registry.ts";
import { SimClock } from "../../../sim/control/sim-clock.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { deployRegistry } from "../../../sim/services/registry.ts";
import { ring } from "../../../sim/substrate/generators.ts";

const MS = 1_000_000;
const TTL = 1000 * MS;

const MESH: IntentMesh = resolveMesh({
  services: [{ name: "web", instances: ["n1", "n3"] }],
  clients: [
    { node: "n0", intent: "service=web, latency<50ms", requestsPerSecond: 1, requestSize: "1KB" },
    { node: "n4", intent: "service=web", requestsPerSecond: 1, requestSize: "1KB" },
  ],
  links: [],
});

/** The links the directory's monitors read: the instances' attachment links, up unless listed. */
const links = (down: readonly string[] = []): LinkStates => ({
  links: ["n1", "n3"].map((n) => ({ src: n, dst: "svc-web", up: !down.includes(n) })),
});

function setup(nodes?: readonly string[]) {
  const sim = new Simulator();
  const service = deployRegistry(sim, new RandomStreams(7), ring(6, { delayNs: 10 * MS }), {
    warm: true,
    republish: false,
    k: 2,
    ...(nodes ? { nodes } : {}),
  });
  const access = new RegistryAccess(service, () => sim.now, TTL);
  const clock = new SimClock(sim, undefined, () => access.pending > 0);
  const dir = new InstanceDirectory(access, MESH);
  const [c0, c4] = MESH.clients as [IntentMesh["clients"][0], IntentMesh["clients"][0]];
  return { sim, access, clock, dir, c0, c4 };
}

type Step = { atMs: number; down?: string[]; n0: string[]; n4?: string[] };

/** Control steps: at each, the monitors observe `down`, then both clients ask; expected answers per client. */
async function play(steps: readonly Step[], nodes?: readonly string[]) {
  const s = setup(nodes);
  for (const st of steps) {
    await s.clock.advance(st.atMs * MS);
    s.dir.observe(links(st.down));
    assert.deepEqual([...s.dir.instances(s.c0)], st.n0, `n0 at ${st.atMs} ms`);
    const n4 = [...s.dir.instances(s.c4)];
    if (st.n4) assert.deepEqual(n4, st.n4, `n4 at ${st.atMs} ms`);
  }
  await s.clock.drain();
  return s.access.totals;
}

describe("instances from the simulated registry", () => {
  const cases: {
    name: string;
    steps: Step[];
    nodes?: string[];
    check: (t: DiscoveryTotals) => void;
  }[] = [
    {
      name: "registration at the first step; the config's instances until the first answer, then the answer, cached for the TTL",
      steps: [
        { atMs: 250, n0: ["n1", "n3"], n4: ["n1", "n3"] },
        { atMs: 500, n0: ["n1", "n3"], n4: ["n1", "n3"] },
        { atMs: 750, n0: ["n1", "n3"] },
      ],
      check: (t) => {
        assert.equal(t.registrations, 2);
        assert.equal(t.lookups, 2, "one lookup per client: the second and third steps answer from the cache");
        assert.equal(t.fallbackAnswers, 2);
        assert.equal(t.registrationsLate, 0);
        assert.equal(t.freshAnswers, 4, "both clients at 500 and 750 ms");
        assert.equal(t.lookupFailures, 0);
        // a node holding every key answers locally (0 ns); a lookup that asks another node takes a round trip of
        // 10 ms links at least
        assert.ok(
          t.lookupLatencyMaxNs !== null && t.lookupLatencyMaxNs >= 20 * MS,
          String(t.lookupLatencyMaxNs),
        );
        assert.ok(t.dhtMessages > 0 && t.maxHops >= 1, JSON.stringify(t));
      },
    },
    {
      name: "a failed instance stays in the cached answer until the TTL, then is gone; it comes back after repair",
      steps: [
        { atMs: 250, n0: ["n1", "n3"] },
        { atMs: 500, n0: ["n1", "n3"] },
        { atMs: 750, down: ["n1"], n0: ["n1", "n3"] }, // monitor reports; the cache is still fresh
        { atMs: 1000, down: ["n1"], n0: ["n1", "n3"] }, // stale registration offered
        { atMs: 1500, down: ["n1"], n0: ["n1", "n3"] }, // expired: refresh starts, stale answer meanwhile
        { atMs: 1750, down: ["n1"], n0: ["n3"] },
        { atMs: 2000, n0: ["n3"] }, // repaired: reported, cache fresh until 2.5 s
        { atMs: 2750, n0: ["n3"] }, // expired: refresh under way
        { atMs: 3000, n0: ["n1", "n3"] },
      ],
      check: (t) => {
        assert.equal(t.statusUpdates, 2);
        assert.equal(t.statusUpdateFailures, 0);
        assert.equal(
          t.downInstancesOffered,
          6,
          "n1 handed to both clients at 750, 1000 and 1500 ms while down",
        );
        assert.equal(t.staleAnswers, 4, "both clients at 1500 and 2750 ms");
        assert.equal(t.lookups, 6, "three per client");
      },
    },
    {
      name: "a client without a registry node: every lookup fails, the config's instances stay its answer",
      nodes: ["n1", "n2", "n3", "n4", "n5"],
      steps: [
        { atMs: 250, n0: ["n1", "n3"] },
        { atMs: 500, n0: ["n1", "n3"] },
      ],
      check: (t) => {
        assert.equal(t.lookupFailures, 2);
        assert.equal(t.registrations, 2);
        assert.equal(t.fallbackAnswers, 2 + 1, "n0 twice, n4 once before its answer");
      },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => c.check(await play(c.steps, c.nodes)));
  }

  it("is deterministic: the same steps give the same totals", async () => {
    const steps = cases[1]!.steps;
    assert.deepEqual(await play(steps), await play(steps));
  });

  it("bounds the wait for registrations: one never completes, discovery starts at the first step past the bound", async () => {
    // A registry whose registration from n3 never settles (a DHT that cannot complete it) and whose discovery
    // answers at once with the instances registered so far; the engine's clock moved by hand.
    const registered: string[] = [];
    const client = (node: string): ResourceRegistry =>
      ({
        node,
        registerResource: () => {
          if (node === "n3") return new Promise(() => {});
          registered.push(node);
          return Promise.resolve({ latencyNs: 0, lookups: 1 });
        },
        discoverResources: () =>
          Promise.resolve({
            matches: registered.map((n) => ({ resource: { metadata: { node: n } } })),
            rejected: 0,
            rejectedIds: [],
            missing: 0,
            stats: { latencyNs: 0, lookups: 1 },
          } as unknown as Discovery),
      }) as unknown as ResourceRegistry;
    const service: RegistryService = { nodes: ["n0", "n1", "n3", "n4"], client, close: async () => {} };
    let now = 0;
    const access = new RegistryAccess(service, () => now, TTL, 500 * MS);
    const dir = new InstanceDirectory(access, MESH);
    const c0 = MESH.clients[0]!;
    const answers: string[][] = [];
    for (const atMs of [250, 500, 750, 1000]) {
      now = atMs * MS;
      dir.observe(links());
      answers.push([...dir.instances(c0)]);
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(answers, [["n1", "n3"], ["n1", "n3"], ["n1", "n3"], ["n1"]]);
    const t = access.totals;
    assert.deepEqual(
      [t.registrations, t.registrationsLate, t.fallbackAnswers, t.lookups, t.freshAnswers],
      [1, 1, 3, 1, 1],
    );
    assert.equal(access.pending, 1, "n3's registration is still in flight");
  });

  it("holds only the late registration's own service: web's clients discover at once, vault's wait for the bound", async () => {
    // web on n1 (registers at once), vault on n3 (its registration never settles); discovery answers at once with
    // the instances of the asked service registered so far.
    const mesh = resolveMesh({
      services: [
        { name: "web", instances: ["n1"] },
        { name: "vault", instances: ["n3"] },
      ],
      clients: [
        { node: "n0", intent: "service=web", requestsPerSecond: 1, requestSize: "1KB" },
        { node: "n0", intent: "service=vault", requestsPerSecond: 1, requestSize: "1KB" },
      ],
      links: [],
    });
    const registered: { node: string; service: string }[] = [];
    const client = (node: string): ResourceRegistry =>
      ({
        node,
        registerResource: (id: string) => {
          if (node === "n3") return new Promise(() => {});
          registered.push({ node, service: id.split("/")[0]! });
          return Promise.resolve({ latencyNs: 0, lookups: 1 });
        },
        discoverResources: ({ service }: { service: string }) =>
          Promise.resolve({
            matches: registered
              .filter((r) => r.service === service)
              .map((r) => ({ resource: { metadata: { node: r.node } } })),
            rejected: 0,
            rejectedIds: [],
            missing: 0,
            stats: { latencyNs: 0, lookups: 1 },
          } as unknown as Discovery),
      }) as unknown as ResourceRegistry;
    const service: RegistryService = { nodes: ["n0", "n1", "n3"], client, close: async () => {} };
    let now = 0;
    const access = new RegistryAccess(service, () => now, TTL, 500 * MS);
    const dir = new InstanceDirectory(access, mesh);
    const [web, vault] = mesh.clients as [IntentMesh["clients"][0], IntentMesh["clients"][0]];
    const answers: [string[], string[]][] = [];
    const linksOf = { links: [] };
    for (const atMs of [250, 500, 750, 1000]) {
      now = atMs * MS;
      dir.observe(linksOf);
      answers.push([[...dir.instances(web)], [...dir.instances(vault)]]);
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(answers, [
      [["n1"], ["n3"]], // both from the config (no answer yet)
      [["n1"], ["n3"]], // web answered from the registry; vault still waits
      [["n1"], ["n3"]], // the bound (500 ms after the first step) opens vault's discovery here
      [["n1"], []], // vault's answer: its only instance never registered
    ]);
    const t = access.totals;
    assert.deepEqual(
      [t.registrations, t.registrationsLate, t.fallbackAnswers, t.lookups, t.freshAnswers],
      [1, 1, 1 + 3, 2, 3 + 1],
    );
  });

  it("keeps an instance one lookup missed for one more TTL, not one found down or missed twice", async () => {
    // Scripted lookups (the emulated DHT can miss an announcer or its index): each answers with these instances of
    // web, `down` ones found with their record down. Control steps 1 s apart (TTL 1 s): a step uses the answer of
    // the lookup the step before started.
    const script: { found: string[]; down?: string[] }[] = [
      { found: ["n1", "n3"] },
      { found: ["n1"] }, // n3 missed: carried
      { found: ["n1"] }, // missed again: dropped
      { found: ["n1", "n3"] },
      { found: ["n1"], down: ["n3"] }, // found down: dropped at once
    ];
    let call = 0;
    const client = (node: string): ResourceRegistry =>
      ({
        node,
        registerResource: () => Promise.resolve({ latencyNs: 0, lookups: 1 }),
        discoverResources: () => {
          const a = script[Math.min(call++, script.length - 1)]!;
          return Promise.resolve({
            matches: a.found.map((n) => ({ resource: { id: `web/${n}`, metadata: { node: n } } })),
            rejected: a.down?.length ?? 0,
            rejectedIds: (a.down ?? []).map((n) => `web/${n}`),
            missing: 0,
            stats: { latencyNs: 0, lookups: 1 },
          } as unknown as Discovery);
        },
      }) as unknown as ResourceRegistry;
    const service: RegistryService = { nodes: ["n0", "n1", "n3", "n4"], client, close: async () => {} };
    let now = 0;
    const access = new RegistryAccess(service, () => now, TTL);
    const dir = new InstanceDirectory(access, MESH);
    const c0 = MESH.clients[0]!;
    const answers: string[][] = [];
    for (const atMs of [250, 1250, 2250, 3250, 4250, 5250]) {
      now = atMs * MS;
      dir.observe(links());
      answers.push([...dir.instances(c0)]);
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(answers, [
      ["n1", "n3"], // the config's (no answer yet)
      ["n1", "n3"],
      ["n1", "n3"], // n3 carried
      ["n1"],
      ["n1", "n3"],
      ["n1"],
    ]);
    assert.equal(access.totals.carriedInstances, 1);
  });
});
