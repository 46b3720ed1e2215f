/**
 * ns-3's peer programs (../shared/peers/ns3: sched_bench, dumbbell), built with their build.sh into a temporary
 * directory for a benchmark to run side by side with topocast. Needs Debian's ns-3 3.37
 * (`apt-get install -y libns3-dev libgsl-dev`); `TOPOCAST_NS3_PEERS` overrides the sources' folder.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The directory holding the built `sched_bench` and `dumbbell` (remove it after), or why there is none. */
export function buildNs3Peers(): { dir: string } | { missing: string } {
  const peers =
    process.env.TOPOCAST_NS3_PEERS ?? resolve(import.meta.dirname ?? ".", "../../shared/peers/ns3");
  if (!existsSync(join(peers, "build.sh"))) return { missing: `no ns-3 peer sources at ${peers}` };
  try {
    execFileSync("pkg-config", ["--exists", "ns3-core"]);
  } catch {
    return { missing: "ns-3 is not installed (apt-get install libns3-dev libgsl-dev)" };
  }
  const dir = mkdtempSync(join(tmpdir(), "topocast-ns3-"));
  execFileSync("sh", [join(peers, "build.sh"), dir], { stdio: "ignore" });
  return { dir };
}
