/**
 * nftables as data: pure functions build the lines of an `nft -f -` script (one statement a line) and the argv that
 * runs it inside a namespace (`ip netns exec <ns> nft -f -`, the script on stdin; no shell). Every name and address
 * that goes into a script is checked first, since nft parses the text: identifiers are `[A-Za-z0-9_]`, device names
 * those of {@link ifName}, addresses dotted IPv4, comments `[a-z0-9_]`. A script applies atomically (nft commits a
 * whole file in one transaction or nothing).
 *
 * Reading back: {@link nftListArgv} lists a table as JSON (`nft -j list table ...`); {@link ruleCounters} gives each
 * commented rule's counter.
 */
import { netnsExecArgv } from "./commands.ts";
import { EmulationError } from "./errors.ts";
import type { Runner } from "./runner.ts";

export type NftFamily = "inet" | "netdev";

const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;
const DEV = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const COMMENT = /^[a-z0-9_]+$/;

function check(re: RegExp, what: string, value: string): string {
  if (!re.test(value)) throw new EmulationError(`nft ${what}: unsafe value ${JSON.stringify(value)}`);
  return value;
}

export const nftIdent = (s: string): string => check(IDENT, "identifier", s);
export const nftDev = (s: string): string => `"${check(DEV, "device", s)}"`;
export const nftAddr = (s: string): string => check(IPV4, "address", s);
export const nftComment = (s: string): string => `comment "${check(COMMENT, "comment", s)}"`;

/** `ip netns exec <ns> nft -f -`: runs the script given on stdin. */
export const nftScriptArgv = (ns: string): string[] => netnsExecArgv(ns, ["nft", "-f", "-"]);

/** `ip netns exec <ns> nft -j list table <family> <name>`. */
export const nftListArgv = (ns: string, family: NftFamily, table: string): string[] =>
  netnsExecArgv(ns, ["nft", "-j", "list", "table", family, nftIdent(table)]);

/** Runs `lines` as one nft transaction in namespace `ns` (nothing when empty); throws EmulationError on failure. */
export async function runNft(runner: Runner, ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await runner.run(nftScriptArgv(ns), { input: `${lines.join("\n")}\n` });
}

/** A rule's counter, by the rule's comment. */
export interface RuleCounter {
  packets: number;
  bytes: number;
}

/** The counters of the commented rules in `nft -j list ...` output, by comment (summed when repeated). */
export function ruleCounters(json: string): Map<string, RuleCounter> {
  const out = new Map<string, RuleCounter>();
  const doc = JSON.parse(json) as { nftables?: { rule?: { comment?: string; expr?: unknown[] } }[] };
  for (const item of doc.nftables ?? []) {
    const rule = item.rule;
    if (!rule?.comment) continue;
    for (const e of rule.expr ?? []) {
      const c = (e as { counter?: { packets: number; bytes: number } }).counter;
      if (!c) continue;
      const prev = out.get(rule.comment) ?? { packets: 0, bytes: 0 };
      out.set(rule.comment, { packets: prev.packets + c.packets, bytes: prev.bytes + c.bytes });
    }
  }
  return out;
}

/** Reads the rule counters of one table; undefined when it cannot be listed (no such table, or no namespace). */
export async function readRuleCounters(
  runner: Runner,
  ns: string,
  family: NftFamily,
  table: string,
): Promise<Map<string, RuleCounter> | undefined> {
  const r = await runner.run(nftListArgv(ns, family, table), { check: false });
  return r.code === 0 ? ruleCounters(r.stdout) : undefined;
}
