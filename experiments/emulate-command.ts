/**
 * `topocast emulate up|down|status|exec|cleanup`: the Linux-namespace substrate of emulate/ for people who want
 * to poke at the network themselves (like containerlab deploy/destroy or Mininet's CLI). Needs root.
 */
import { cleanup, down, exec, status, up } from "../emulate/substrate.ts";
import { readTopologyFile } from "./topology-files.ts";

export async function emulateUp(topology: string): Promise<void> {
  const r = await up(readTopologyFile(topology), { persistent: true, handleSignals: true });
  console.log(`run ${r.runId} is up (${r.nodes.length} nodes, ${(r.timings.totalMs / 1000).toFixed(2)} s)`);
  for (const n of r.nodes)
    console.log(`  ${n.id.padEnd(16)} netns ${n.netns.padEnd(24)} ${n.addresses.join(" ")}`);
  for (const d of r.dropped) console.log(`  not emulated: ${d}`);
  console.log(`tear down with: topocast emulate down ${r.runId}`);
}

export async function emulateDown(runId: string): Promise<void> {
  await down(runId);
  console.log(`run ${runId} is down`);
}

export async function emulateStatus(): Promise<void> {
  const runs = await status();
  if (runs.length === 0) console.log("no emulation runs");
  for (const r of runs) {
    console.log(
      `${r.runId}  ${r.status}${r.persistent ? " (persistent)" : ""}  ${r.topology ?? "?"}  ${r.nodes} nodes, ${r.namespaces} namespaces  controller ${r.controllerAlive ? "alive" : "gone"}`,
    );
  }
}

export async function emulateExec(runId: string, node: string, argv: string[]): Promise<number> {
  const r = await exec(runId, node, argv);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code ?? 1;
}

export async function emulateCleanup(runId: string | undefined, orphans: boolean): Promise<void> {
  const removed = await cleanup({ ...(runId ? { runId } : {}), orphans });
  console.log(removed.length ? `removed ${removed.join(", ")}` : "nothing to clean up");
}
