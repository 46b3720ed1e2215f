/**
 * Loading experiment configs: YAML or JSON text -> overrides (`--set`, `--seed`, `--run`) -> schema validation ->
 * an {@link LoadedConfig} with defaults filled in and paths resolved.
 *
 * Errors are {@link ConfigError}s whose message names the file, the line (where the YAML parser knows it), the
 * field path, the bad value and what is allowed, one issue per line:
 * `quickstart.yaml:14: topology.links.capacity: expected a rate such as "10Gbps", ..., got "fast"`.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import * as YAML from "yaml";
import { isMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import * as z from "zod";
import { PREDICTOR_NAMES } from "../../models/predictors/registry.ts";
import { POLICY_REGISTRY, type PolicyRegistry, policyNames } from "../policy-registry.ts";
import { show } from "./fields.ts";
import { formatPath, getAt, type PathKey, parsePath, setAt } from "./paths.ts";
import { type ExperimentConfig, ExperimentSchema, experimentSchema } from "./schema.ts";

/** One problem in a config, located. */
export interface ConfigIssue {
  /** Where the bad value came from: the file (with `:line` when known) or `--set path=value`. */
  source: string;
  path: readonly PropertyKey[];
  message: string;
}

/** Issues a {@link ConfigError}'s message lists; the rest are counted (a junk file has hundreds). */
export const MAX_ISSUES_SHOWN = 5;

/**
 * Bad experiment config (exit code 2). The message lists the first {@link MAX_ISSUES_SHOWN} issues, one per line,
 * and counts the rest; control characters and undecodable bytes are escaped, never echoed raw to a terminal.
 */
export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    const lines = issues
      .slice(0, MAX_ISSUES_SHOWN)
      .map((i) => `${i.source}: ${i.path.length ? `${formatPath(i.path)}: ` : ""}${i.message}`);
    const more = issues.length - MAX_ISSUES_SHOWN;
    if (more > 0) lines.push(`... and ${more} more problem${more === 1 ? "" : "s"} (fix these first)`);
    super(printable(lines.join("\n")));
    this.name = "ConfigError";
  }
}

/** `s` with C0/C1 control characters (but newlines), U+FFFD and other invisibles escaped as `\uXXXX`. */
export function printable(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const hidden =
      (c < 0x20 && c !== 0x0a) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0x200b && c <= 0x200f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0xfeff ||
      c === 0xfffd;
    out += hidden ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
  }
  return out;
}

/** Largest config file read, bytes: configs are a few kB; anything near this is not a config. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Most alias dereferences a config may make (the yaml library's default); more is an alias bomb, not a config. */
const MAX_ALIAS_COUNT = 100;

export interface LoadOptions {
  /** `path=value` overrides; the value is YAML (`0.8`, `true`, `[1, 2]`, `{name: ecmp}`). */
  set?: readonly string[];
  seed?: number;
  /** The policies the config may name (default the built-in registry; tests add fixture policies). */
  policies?: PolicyRegistry;
}

/** The schema of each registry a config was validated against (building one walks every policy's params). */
const SCHEMAS = new WeakMap<PolicyRegistry, z.ZodType>([[POLICY_REGISTRY, ExperimentSchema]]);

function schemaOf(registry: PolicyRegistry): z.ZodType {
  let s = SCHEMAS.get(registry);
  if (!s) {
    s = experimentSchema(registry);
    SCHEMAS.set(registry, s);
  }
  return s;
}

export interface LoadedConfig {
  config: ExperimentConfig;
  /** The file as named by the user. */
  file: string;
  /** Directory relative paths in the config are resolved against. */
  baseDir: string;
  /** The config text as read (before overrides). */
  text: string;
  /** The overrides applied. */
  options: LoadOptions;
  /** sha256 of the canonical JSON of the effective config, hex (first 16 digits). */
  hash: string;
  /** Builds a ConfigError located at `path` (file and line, or the --set that supplied it). */
  error(path: readonly PropertyKey[], message: string): ConfigError;
  /** The policies the config was validated against; the scenario takes their definitions from here. */
  policies: PolicyRegistry;
}

/** Reads and validates a config file. @throws ConfigError */
export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  return parseConfig(readConfigText(file), file, dirname(resolve(file)), opts);
}

/** The text of a config file: UTF-8, not binary, at most {@link MAX_CONFIG_BYTES}. @throws ConfigError */
function readConfigText(file: string): string {
  const refuse = (message: string) => new ConfigError([{ source: file, path: [], message }]);
  let bytes: Buffer;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) {
      throw refuse(
        `${(statSync(file).size / 1048576).toFixed(1)} MB is too large for a config (at most ${MAX_CONFIG_BYTES / 1048576} MB); is this the right file?`,
      );
    }
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory, not a config file"
          : `cannot read (${(e as Error).message})`,
    );
  }
  if (bytes.includes(0)) throw refuse("binary content (NUL bytes), not a YAML or JSON config");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw refuse("not UTF-8 text (binary content?), not a YAML or JSON config");
  }
}

/** Validates config text (YAML or JSON) as if read from `file`. @throws ConfigError */
export function parseConfig(
  text: string,
  file: string,
  baseDir: string,
  opts: LoadOptions = {},
): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return {
          source: pos ? `${file}:${pos.line}` : file,
          path: [],
          message: `malformed YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
        };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    // The yaml library refuses documents whose aliases expand too much ("billion laughs").
    throw new ConfigError([
      { source: file, path: [], message: `malformed YAML: ${(e as Error).message.split("\n")[0]}` },
    ]);
  }
  const overridden: PathKey[][] = [];
  const overrideText = new Map<string, string>();
  for (const s of opts.set ?? []) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError([
        { source: `--set ${s}`, path: [], message: "expected path=value, e.g. seed=2" },
      ]);
    }
    let path: PathKey[];
    let value: unknown;
    try {
      path = parsePath(s.slice(0, eq));
      value = YAML.parse(s.slice(eq + 1));
      raw = setAt(raw, path, value);
    } catch (e) {
      throw new ConfigError([{ source: `--set ${s}`, path: [], message: (e as Error).message }]);
    }
    overridden.push(path);
    overrideText.set(JSON.stringify(path), `--set ${s}`);
  }
  if (opts.seed !== undefined) {
    raw = setAt(raw, ["seed"], opts.seed);
    overridden.push(["seed"]);
    overrideText.set(JSON.stringify(["seed"]), `--seed ${opts.seed}`);
  }

  const sourceOf = (path: readonly PropertyKey[]): string => {
    const shared = (o: readonly PathKey[]) => {
      let n = 0;
      while (n < o.length && n < path.length && String(o[n]) === String(path[n])) n++;
      return n;
    };
    // An override at or above the path supplied the value.
    const above = overridden.find((o) => shared(o) === o.length);
    if (above) return overrideText.get(JSON.stringify(above))!;
    const { line, depth } = locate(doc.contents, path, lineCounter);
    const inFile = line === undefined ? file : `${file}:${line}`;
    // Overrides reaching deeper along the path than the file does made the faulty part; overrides inside the
    // faulty value or its object (a sibling field) share the blame with the file.
    const text = (os: PathKey[][]) => os.map((o) => overrideText.get(JSON.stringify(o))!).join(", ");
    const deeper = overridden.filter((o) => shared(o) > depth);
    if (deeper.length > 0) return text(deeper);
    const near = overridden.filter((o) => shared(o) >= path.length - 1 && shared(o) > 0);
    return near.length === 0 ? inFile : `${inFile} with ${text(near)}`;
  };
  const error = (path: readonly PropertyKey[], message: string) =>
    new ConfigError([{ source: sourceOf(path), path, message }]);

  const policies = opts.policies ?? POLICY_REGISTRY;
  const schema = schemaOf(policies);
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const issues = result.error.issues.map((iss) => {
      const { path, message } = describeIssue(iss, raw, schema, policies);
      return { source: sourceOf(path), path, message };
    });
    throw new ConfigError(dedupe(issues));
  }
  const config = resolvePaths(result.data as ExperimentConfig, baseDir, error, policies);
  return { config, file, baseDir, text, options: opts, hash: configHash(config), error, policies };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${formatPath(i.path)}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The 1-based line of the node at `path`, or of its nearest ancestor present in the document, and how many keys
 * of `path` the document has (`path.length` when the node itself is there).
 */
function locate(
  root: unknown,
  path: readonly PropertyKey[],
  lc: LineCounter,
): { line: number | undefined; depth: number } {
  let node = root as Node | null | undefined;
  let best: number | undefined;
  let depth = 0;
  const at = (n: Node | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : undefined);
  best = at(node);
  for (const k of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => String((p.key as { value?: unknown })?.value ?? p.key) === String(k),
      );
      if (!pair) break;
      const keyLine = at(pair.key as Node);
      node = pair.value as Node | null;
      best = keyLine ?? at(node) ?? best;
    } else if (isSeq(node) && typeof k === "number") {
      node = node.items[k] as Node | undefined;
      if (!node) break;
      best = at(node) ?? best;
    } else break;
    depth++;
  }
  return { line: best, depth };
}

/** Turns a zod issue into (path, message) with the bad value and what is allowed. */
function describeIssue(
  iss: z.core.$ZodIssue,
  raw: unknown,
  schema: z.ZodType,
  policies: PolicyRegistry,
): { path: PropertyKey[]; message: string } {
  const path = [...iss.path];
  const input = "input" in iss ? iss.input : getAt(raw, path);
  switch (iss.code) {
    case "invalid_type":
      if (input === undefined) return { path, message: `required, missing (expected ${iss.expected})` };
      if (
        path[0] === "policies" &&
        path[2] === "predictor" &&
        path.length === 3 &&
        typeof input === "string"
      ) {
        // `predictor: ewma`, the predictor's name alone.
        return { path, message: `expected an object such as {name: ${show(input)}}, got ${show(input)}` };
      }
      if (typeof input === "number" && !Number.isFinite(input)) {
        return { path, message: `expected a finite number, got ${show(input)}` };
      }
      if (iss.message.startsWith("expected ")) return { path, message: iss.message };
      return {
        path,
        message: `expected ${iss.expected === "int" ? "an integer" : iss.expected}, got ${show(input)}`,
      };
    case "invalid_value":
      return {
        path,
        message: `expected ${iss.values.length === 1 ? show(iss.values[0]) : `one of ${iss.values.map(show).join(", ")}`}, got ${show(input)}`,
      };
    case "invalid_union": {
      const disc = (iss as { discriminator?: string; options?: unknown[] }).discriminator;
      const options = (iss as { options?: unknown[] }).options ?? [];
      if (disc !== undefined) {
        const p = path[path.length - 1] === disc ? path : [...path, disc];
        const got = getAt(raw, p);
        if (disc === "name" && p[0] === "policies" && p[2] === "predictor") {
          return {
            path: p,
            message:
              got === undefined
                ? `required, missing (a predictor name: ${PREDICTOR_NAMES.join(", ")})`
                : `unknown predictor ${show(got)}; known: ${PREDICTOR_NAMES.join(", ")}`,
          };
        }
        if (disc === "name" && p[0] === "policies") {
          return {
            path: p,
            message:
              got === undefined
                ? `required, missing (a policy name: ${policyNames(policies).join(", ")})`
                : `unknown policy ${show(got)}; known: ${policyNames(policies).join(", ")}`,
          };
        }
        return {
          path: p,
          message: `${got === undefined ? "required, missing" : `unknown ${disc} ${show(got)}`}; expected one of ${options.map((o) => String(o)).join(", ")}`,
        };
      }
      return { path, message: `${iss.message}, got ${show(input)}` };
    }
    case "unrecognized_keys": {
      const allowed = allowedKeys(schema, path, raw);
      const k = iss.keys[0]!;
      const hint = allowed ? closest(k, allowed) : undefined;
      const others = iss.keys.length - 1;
      return {
        path: [...path, k],
        message: `unknown field${hint ? ` (did you mean "${hint}"?)` : ""}${allowed ? `; allowed: ${allowed.join(", ")}` : ""}${others > 0 ? ` (and ${others} more unknown field${others === 1 ? "" : "s"}: ${show(iss.keys.slice(1))})` : ""}`,
      };
    }
    case "too_small":
    case "too_big": {
      const op = iss.code === "too_small" ? (iss.inclusive ? ">=" : ">") : iss.inclusive ? "<=" : "<";
      const bound = iss.code === "too_small" ? iss.minimum : iss.maximum;
      if (iss.origin === "array") {
        return { path, message: `expected a list of ${op} ${bound} items, got ${show(input)}` };
      }
      return { path, message: `expected a number ${op} ${bound}, got ${show(input)}` };
    }
    case "invalid_format":
      return { path, message: `${iss.message}, got ${show(input)}` };
    default:
      return {
        path,
        message: iss.message.includes("got ") ? iss.message : `${iss.message}, got ${show(input)}`,
      };
  }
}

/** Keys a strict object at `path` allows, found by walking the schema (discriminated unions by the raw value). */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[], raw: unknown): string[] | undefined {
  let s: z.core.$ZodType | undefined = schema as unknown as z.core.$ZodType;
  const unwrap = (t: z.core.$ZodType, value: unknown): z.core.$ZodType => {
    for (;;) {
      const def = t._zod.def as unknown as Record<string, unknown> & { type: string };
      if (["optional", "default", "prefault", "nullable", "readonly", "catch"].includes(def.type)) {
        t = def.innerType as z.core.$ZodType;
      } else if (def.type === "pipe") {
        t = def.in as z.core.$ZodType;
      } else if (def.type === "union") {
        const opts = def.options as z.core.$ZodType[];
        const disc = (def as { discriminator?: string }).discriminator;
        const v =
          disc && value && typeof value === "object" ? (value as Record<string, unknown>)[disc] : undefined;
        const match = opts.find((o) => {
          const shape = (o._zod.def as unknown as { shape?: Record<string, z.core.$ZodType> }).shape;
          const lit =
            shape && disc ? (shape[disc]?._zod.def as unknown as { values?: unknown[] }) : undefined;
          return lit?.values?.includes(v);
        });
        if (!match) return t;
        t = match;
      } else return t;
    }
  };
  let value: unknown = raw;
  s = unwrap(s, value);
  for (const k of path) {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    value = (value as Record<PropertyKey, unknown> | undefined)?.[k as string];
    if (def.type === "object") s = (def.shape as Record<string, z.core.$ZodType>)[String(k)];
    else if (def.type === "array") s = def.element as z.core.$ZodType;
    else if (def.type === "record") s = def.valueType as z.core.$ZodType;
    else return undefined;
    if (!s) return undefined;
    s = unwrap(s, value);
  }
  const def = s._zod.def as unknown as { type: string; shape?: Record<string, unknown> };
  return def.type === "object" && def.shape ? Object.keys(def.shape) : undefined;
}

/** The allowed key nearest to `k` by edit distance, when it is close (a likely typo). */
function closest(k: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(k.length / 3)) + 1;
  for (const a of allowed) {
    const d = editDistance(k.toLowerCase(), a.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Expands `${VAR}` and `${VAR:-default}`; an unset variable without a default is an error. */
export function expandEnv(s: string, env: NodeJS.ProcessEnv = process.env): string {
  return s.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_, name: string, dflt: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (dflt !== undefined) return dflt;
      throw new Error(
        `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
      );
    },
  );
}

/** Makes every path field absolute (env expanded, relative to `baseDir`). */
function resolvePaths(
  c: ExperimentConfig,
  baseDir: string,
  error: (path: readonly PropertyKey[], message: string) => ConfigError,
  policies: PolicyRegistry,
): ExperimentConfig {
  const fix = (p: string, path: PropertyKey[]): string => {
    let s: string;
    try {
      s = expandEnv(p);
    } catch (e) {
      throw error(path, (e as Error).message);
    }
    return isAbsolute(s) ? s : resolve(baseDir, s);
  };
  const out = structuredClone(c);
  if (out.topology.file !== undefined) out.topology.file = fix(out.topology.file, ["topology", "file"]);
  const tm = out.workload.tm;
  if (tm.kind === "sndlib") tm.dir = fix(tm.dir, ["workload", "tm", "dir"]);
  if (tm.kind === "csv") tm.file = fix(tm.file, ["workload", "tm", "file"]);
  if (out.workload.flowSizes.cdf !== undefined) {
    out.workload.flowSizes.cdf = fix(out.workload.flowSizes.cdf, ["workload", "flowSizes", "cdf"]);
  }
  // Policy parameters declared as paths (meta "x-unit": "path", e.g. rl-mesh's model file).
  out.policies.forEach((p, i) => {
    const shape = policies.get(p.name)?.params.shape ?? {};
    const params = p.params as Record<string, unknown>;
    for (const [k, field] of Object.entries(shape)) {
      const v = params[k];
      if (typeof v === "string" && z.globalRegistry.get(field as z.ZodType)?.["x-unit"] === "path") {
        params[k] = fix(v, ["policies", i, "params", k]);
      }
    }
  });
  return out;
}

/** JSON with object keys sorted at every level (a canonical form for hashing). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_, x) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, (x as Record<string, unknown>)[k]]),
        )
      : x,
  );
}

export function configHash(c: unknown): string {
  return createHash("sha256").update(canonicalJson(c)).digest("hex").slice(0, 16);
}
