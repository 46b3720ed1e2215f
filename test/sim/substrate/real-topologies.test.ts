/**
 * Every real topology file a user may point topocast at imports: the Topology Zoo and SNDlib networks of the shared
 * data folder (skipped, saying so, without it) and the Zoo networks bundled in data/. What an importer reads
 * differently from the file (a dropped self-loop) is a warning, never a failure.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { readSndlibNetwork } from "../../../sim/substrate/sndlib-xml.ts";
import type { Topology } from "../../../sim/substrate/topology.ts";
import { readZooGraphml } from "../../../sim/substrate/zoo-graphml.ts";
import { REPO_ROOT, sharedDataDir, skipUnlessShared } from "../../helpers/shared-data.ts";

/** Every .graphml and .xml file under `dir`, recursively, sorted. */
function topologyFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(graphml|xml)$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function importFile(file: string, onWarning: (w: string) => void): Topology {
  return file.toLowerCase().endsWith(".graphml")
    ? readZooGraphml(file, { onWarning })
    : readSndlibNetwork(file, { onWarning });
}

function importsEvery(dir: string, note: (line: string) => void): void {
  const files = topologyFiles(dir);
  assert.ok(files.length > 0, `no topology files under ${dir}`);
  for (const file of files) {
    const warnings: string[] = [];
    const topo = importFile(file, (w) => warnings.push(w));
    assert.ok(topo.nodeCount > 0, `${file}: no nodes`);
    for (const w of warnings) assert.ok(w.startsWith(file), `${file}: warning names the file: ${w}`);
    if (warnings.length > 0)
      note(`${relative(dir, file)}: ${warnings.length} warning(s), first: ${warnings[0]}`);
  }
  note(`${files.length} files imported from ${dir}`);
}

describe("real topology files", () => {
  it("every bundled Topology Zoo network imports", (t) =>
    importsEvery(join(REPO_ROOT, "data/topologies"), (line) => t.diagnostic(line)));

  it("every Topology Zoo and SNDlib network of the shared data imports", { skip: skipUnlessShared }, (t) =>
    importsEvery(join(sharedDataDir()!, "topologies"), (line) => t.diagnostic(line)),
  );
});
