/**
 * The `topocast persona` commands over the repository (repository.ts): `learn` runs a config's learning run in the
 * simulator (or, `--engine emulate`, on namespaces, learning from the agents' reports or from conntrack) and stores each application's learned persona (models/personas/learn.ts) as its next version; `list`,
 * `show`, `diff`, `export` and `import` read and write the repository. Output goes to stdout; bad input throws
 * user errors (ConfigError, PersonaError, LearnError, CliInputError) that the CLI prints without a stack.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { diffPersonas } from "../../models/personas/diff.ts";
import { learnPersonas } from "../../models/personas/learn.ts";
import type { Persona } from "../../models/personas/profile.ts";
import { runPolicy } from "../../sim/engine/run.ts";
import { formatRate, parseDurationNs, UnitError } from "../../sim/units.ts";
import { CliInputError, makeTable } from "../cli/options.ts";
import { loadConfig } from "../config/load.ts";
import { buildScenario } from "../scenario.ts";
import { PersonaRepository } from "./repository.ts";

export interface LearnCommandOptions {
  db: string;
  /** Which engine runs the learning run. @default "sim" */
  engine?: "sim" | "emulate";
  /**
   * The emulator's flows to learn from: the traffic agents' reports, or the connections the kernel's connection
   * tracker saw (emulation.conntrack). @default "agents"
   */
  source?: "agents" | "conntrack";
  /** `"<end>"` (from 0) or `"<start>..<end>"`, durations; default the config's whole window. */
  window?: string;
  /** The learning run's policy label; default the config's first policy. */
  policy?: string;
  set: string[];
  seed?: number;
  run: number;
  json: boolean;
}

/**
 * Runs the config's applications in the simulator under one policy, learns every application's persona over the
 * window and stores each as its next version.
 * @returns the stored documents, in the config's application order.
 * @throws ConfigError (bad config, no applications), CliInputError (bad window or policy), LearnError.
 */
export async function personaLearn(file: string, o: LearnCommandOptions): Promise<Persona[]> {
  const loaded = loadConfig(file, { set: o.set, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const { scenario, workload } = buildScenario(loaded, o.run);
  if (!scenario.applications) {
    throw loaded.error(
      ["workload"],
      "has no applications (workload.applications): personas are learned per application",
    );
  }
  const policy =
    o.policy === undefined ? scenario.policies[0]! : scenario.policies.find((p) => p.label === o.policy);
  if (!policy) {
    const labels = scenario.policies.map((p) => p.label).join(", ");
    throw new CliInputError(
      `--policy: no policy labelled ${JSON.stringify(o.policy)} in ${file}; it has ${labels}`,
    );
  }
  const engine = o.engine ?? "sim";
  const source = o.source ?? "agents";
  if (engine === "sim" && source !== "agents")
    throw new CliInputError(
      `--source ${source}: only the emulator has conntrack's connections; add --engine emulate, or learn from the simulator's flows (--source agents)`,
    );
  // The emulator's modules load only for an emulated learning run.
  const emulated = engine === "emulate" ? await import("./learn-emulated.ts") : undefined;
  const horizonNs = emulated ? emulated.emulatedHorizonNs(loaded.config, scenario) : workload.horizonNs;
  const window = parseWindow(o.window, horizonNs);
  const flows = emulated
    ? await emulated.emulatedFlows(loaded.config, scenario, policy, source)
    : (await runPolicy(scenario, policy)).flows.byFlowId();
  const learned = learnPersonas(
    { flows, applications: scenario.applications, topology: scenario.topology },
    {
      window,
      provenance: {
        engine,
        run: file,
        learnedAt: `${scenario.name} seed ${scenario.seed} run ${scenario.run}, policy ${policy.label}${engine === "emulate" ? `, from the ${source === "agents" ? "agents' reports" : "conntrack connections"}` : ""}`,
      },
    },
  );
  const repo = new PersonaRepository(o.db);
  try {
    const stored = learned.map((p) => repo.store(p));
    if (o.json) console.log(JSON.stringify(stored, null, 2));
    else printLearned(stored, o.db);
    return stored;
  } finally {
    repo.close();
  }
}

/** `"<end>"` or `"<start>..<end>"` as ns; absent: [0, horizon). @throws CliInputError */
export function parseWindow(text: string | undefined, horizonNs: number): { startNs: number; endNs: number } {
  if (text === undefined) return { startNs: 0, endNs: horizonNs };
  const parts = text.split("..");
  try {
    const [startNs, endNs] =
      parts.length === 1 ? [0, parseDurationNs(parts[0]!)] : parts.map((p) => parseDurationNs(p.trim()));
    if (parts.length > 2 || startNs === undefined || endNs === undefined || endNs <= startNs) {
      throw new CliInputError(
        `--window: expected "<end>" or "<start>..<end>" with start < end, got "${text}"`,
      );
    }
    return { startNs, endNs };
  } catch (e) {
    if (e instanceof UnitError) throw new CliInputError(`--window: ${e.message}`);
    throw e;
  }
}

function printLearned(stored: readonly Persona[], db: string): void {
  const table = makeTable([
    "application",
    "version",
    "mean",
    "p95",
    "small share",
    "overlay",
    "priority",
    "routing",
  ]);
  for (const p of stored) {
    const f = p.fingerprint;
    table.push([
      p.application.name,
      p.version,
      formatRate(f.bandwidth.meanBps),
      formatRate(f.bandwidth.p95Bps),
      f.latencySensitivity.share.toFixed(2),
      p.desired.topology,
      p.desired.qos.priority,
      p.desired.routing,
    ]);
  }
  console.log(table.toString());
  console.log(`stored ${stored.length} personas in ${db}`);
}

/** Runs `fn` on the repository at `db` and closes it. */
function withRepo<T>(db: string, fn: (repo: PersonaRepository) => T): T {
  const repo = new PersonaRepository(db);
  try {
    return fn(repo);
  } finally {
    repo.close();
  }
}

/** `persona list`: every application's latest version. */
export function personaList(db: string, json: boolean): void {
  withRepo(db, (repo) => {
    const rows = repo.list();
    if (json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    const table = makeTable(["application", "latest", "versions", "app version", "engine", "learned"]);
    for (const r of rows) table.push([r.app, r.version, r.versions, r.versionHash, r.engine, r.learnedAt]);
    console.log(rows.length ? table.toString() : `no personas in ${db}`);
  });
}

/** `persona show <app> [--at N]`: the document as JSON. @throws CliInputError when absent. */
export function personaShow(db: string, app: string, version: number | undefined): void {
  withRepo(db, (repo) => console.log(JSON.stringify(find(repo, app, version), null, 2)));
}

/**
 * `persona diff <app> [--against N]`: the changed fields from version N (default: the one before the latest) to
 * the latest. @throws CliInputError when a version is absent.
 */
export function personaDiff(db: string, app: string, against: number | undefined, json: boolean): void {
  withRepo(db, (repo) => {
    const latest = find(repo, app, undefined);
    const base = find(repo, app, against ?? latest.version - 1);
    const changes = diffPersonas(base, latest);
    if (json) {
      console.log(JSON.stringify({ app, from: base.version, to: latest.version, changes }, null, 2));
      return;
    }
    console.log(`${app}: version ${base.version} -> ${latest.version}, ${changes.length} changed fields`);
    const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v));
    for (const c of changes) console.log(`  ${c.path}: ${show(c.from)} -> ${show(c.to)}`);
  });
}

function find(repo: PersonaRepository, app: string, version: number | undefined): Persona {
  const doc = version === undefined ? repo.latest(app) : repo.get(app, version);
  if (doc) return doc;
  const known = repo.versions(app).map((v) => v.version);
  if (known.length === 0) {
    const apps = repo.list().map((s) => s.app);
    throw new CliInputError(
      `no persona of ${JSON.stringify(app)} in ${repo.path}; it has ${apps.length ? apps.join(", ") : "none"}`,
    );
  }
  throw new CliInputError(`${app} has no version ${version} in ${repo.path}; it has ${known.join(", ")}`);
}

/** `persona export [--app a]... [--out file]`: a JSON array of every version of the apps (all by default). */
export function personaExport(db: string, apps: readonly string[], out: string | undefined): void {
  const text = `${JSON.stringify(
    withRepo(db, (repo) => repo.exportDocuments(apps)),
    null,
    2,
  )}\n`;
  if (out === undefined) console.log(text.trimEnd());
  else writeFileSync(out, text);
}

/** `persona import <file>`: documents kept at their versions; prints what was added and skipped. */
export function personaImport(db: string, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CliInputError(`${file}: cannot read: ${(e as Error).message}`);
  }
  const r = withRepo(db, (repo) => repo.importDocuments(text, file));
  const names = (vs: typeof r.added) => vs.map((v) => `${v.app}@${v.version}`).join(", ") || "none";
  console.log(`imported into ${db}: added ${names(r.added)}; already there ${names(r.skipped)}`);
}
