/**
 * Which program runs the wire relays: the C relay (wire-relay.c), compiled here at run time with the machine's C
 * compiler, or the JavaScript relay (wire-relay.ts) when there is no compiler or the build fails (the reason is
 * reported with the run). `TOPOCAST_WIRE_RELAY` (or `UpOptions.relay`) chooses: "auto" (default) the C relay when
 * it builds, else JavaScript; "c" the C relay or an error; "js" always JavaScript.
 *
 * The binary is cached as `<cache>/wire-relay-<hash>`, hash = SHA-256 of the source, the flags and the platform,
 * so an unchanged relay compiles once per machine and a changed one anew. The cache is `$XDG_CACHE_HOME/topocast`
 * (default `~/.cache/topocast`), else `<os.tmpdir()>/topocast-<uid>`; a directory is used only when it is ours
 * and nobody else can write to it, since we run (as root) what we find there. The compiler writes a temporary
 * name that is renamed into place, so concurrent builds never run a partial binary. A process builds (or finds)
 * and smoke-tests the binary once: the build is memoized per compiler and cache directory.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  chmodSync,
  constants,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { C_COMPILERS, findCompiler } from "./capabilities.ts";
import { EmulationError } from "./errors.ts";
import { ProcessRunner, type Runner } from "./runner.ts";
import type { RelayProgram } from "./wire-relay.ts";

export type RelayMode = "auto" | "c" | "js";
export const RELAY_MODES: readonly RelayMode[] = ["auto", "c", "js"];

/** The C relay's source file. */
export const RELAY_SOURCE = fileURLToPath(new URL("./wire-relay.c", import.meta.url));

/** Compiler flags: warnings are errors, so a relay that builds is one the compiler found nothing wrong with. */
export const RELAY_CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"] as const;

/** `TOPOCAST_WIRE_RELAY` as a {@link RelayMode} ("auto" when unset or empty); throws naming a bad value. */
export function relayModeFromEnv(env: NodeJS.ProcessEnv = process.env): RelayMode {
  const v = env.TOPOCAST_WIRE_RELAY ?? "";
  if (v === "") return "auto";
  if ((RELAY_MODES as readonly string[]).includes(v)) return v as RelayMode;
  throw new EmulationError(`TOPOCAST_WIRE_RELAY: expected one of ${RELAY_MODES.join(", ")}, got "${v}"`);
}

/** Cache key of a build: the first 16 hex digits of SHA-256(source, flags, platform). */
export function relayHash(source: string, platform = `${process.platform}-${process.arch}`): string {
  return createHash("sha256")
    .update([source, RELAY_CFLAGS.join(" "), platform].join("\0"))
    .digest("hex")
    .slice(0, 16);
}

/** `<compiler> -std=c11 -O2 -Wall -Wextra -Werror -o <out> <source>`. */
export function compileArgv(compiler: string, source: string, out: string): string[] {
  return [compiler, ...RELAY_CFLAGS, "-o", out, source];
}

/** Candidate cache directories, in order of preference. */
export function cacheDirs(
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
  tmp = tmpdir(),
  uid = process.getuid?.() ?? 0,
): string[] {
  const user = env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, "topocast") : join(home, ".cache", "topocast");
  return [user, join(tmp, `topocast-${uid}`)];
}

/** Whether `path` exists as `kind`, owned by this user, writable by nobody else (and not a symbolic link). */
function ours(path: string, kind: "dir" | "file"): boolean {
  try {
    const st = lstatSync(path);
    const isKind = kind === "dir" ? st.isDirectory() : st.isFile();
    return isKind && st.uid === (process.getuid?.() ?? st.uid) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The first candidate directory that can be made (mode 0700), is ours and is writable. */
function cacheDir(candidates: readonly string[]): string {
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK);
      if (ours(dir, "dir")) return dir;
    } catch {}
  }
  throw new EmulationError(
    `no private writable cache directory for the C relay (tried ${candidates.join(", ")})`,
  );
}

export interface BuildOptions {
  /** Runs the compiler and the smoke test; default a {@link ProcessRunner}. */
  runner?: Runner;
  /** Compiler path; default the first of {@link C_COMPILERS} on PATH. */
  compiler?: string;
  /** Cache directory; default the first usable of {@link cacheDirs}. */
  cacheDir?: string;
}

export interface CRelay {
  binary: string;
  compiler: string;
}

async function compile(runner: Runner, compiler: string, dir: string): Promise<string> {
  const binary = join(dir, `wire-relay-${relayHash(readFileSync(RELAY_SOURCE, "utf8"))}`);
  if (!ours(binary, "file")) {
    const tmp = `${binary}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      const r = await runner.run(compileArgv(compiler, RELAY_SOURCE, tmp), {
        check: false,
        timeoutMs: 120_000,
      });
      if (r.code !== 0) {
        const why = r.stderr.trim().split("\n").slice(0, 5).join("\n");
        throw new EmulationError(`${compiler} failed on ${RELAY_SOURCE} (exit code ${r.code}): ${why}`);
      }
      chmodSync(tmp, 0o755);
      renameSync(tmp, binary);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  // It must run here (a cache on a noexec mount would not): an empty schedule prints nothing and exits 0.
  await runner.run([binary, "--schedule", "1"], { timeoutMs: 10_000 });
  return binary;
}

const builds = new Map<string, Promise<CRelay>>();

/**
 * The compiled C relay (built, or found in the cache, once per process for a compiler and cache directory);
 * rejects with an {@link EmulationError} saying why there is none.
 */
export function buildRelay(opts: BuildOptions = {}): Promise<CRelay> {
  const key = `${opts.compiler ?? ""}\0${opts.cacheDir ?? ""}`;
  let p = builds.get(key);
  if (!p) {
    p = (async () => {
      const compiler = opts.compiler ?? (await findCompiler());
      if (!compiler) throw new EmulationError(`no C compiler on PATH (tried ${C_COMPILERS.join(", ")})`);
      const dir = opts.cacheDir ?? cacheDir(cacheDirs());
      if (opts.cacheDir) mkdirSync(dir, { recursive: true, mode: 0o700 });
      return { binary: await compile(opts.runner ?? new ProcessRunner(), compiler, dir), compiler };
    })();
    builds.set(key, p);
  }
  return p;
}

/** The relay program for `mode` (see the module comment); rejects only for mode "c" without a C relay. */
export async function chooseRelay(mode: RelayMode, opts: BuildOptions = {}): Promise<RelayProgram> {
  if (mode === "js") return { kind: "js", reason: "relay mode js (TOPOCAST_WIRE_RELAY or UpOptions.relay)" };
  try {
    return { kind: "c", ...(await buildRelay(opts)) };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (mode === "c") throw new EmulationError(`the C wire relay is unavailable: ${why}`);
    return { kind: "js", reason: `C relay unavailable: ${why}` };
  }
}
