/**
 * `secure: true` virtual links in emulation (issue 16): the pair's traffic crosses the virtual link inside a mutual
 * TLS 1.3 tunnel between two sidecars of the run's mesh (mesh.ts, sidecar.ts), one at each end node.
 *
 * For virtual link number `k` from node S to node D (addresses s, d), carrying the application ports `ports`:
 *
 * - **Identities**: `spiffe://topocast/vl<k>/src` at S and `spiffe://topocast/vl<k>/dst` at D, leaf certificates
 *   of the run CA (ca.ts; keys only in the run's mesh directory, run-files.ts). The D sidecar's allow policy holds
 *   one rule, from the S sidecar's identity to its own: any other certificate, none, another CA's, an expired or a
 *   revoked one is refused in the handshake or by the policy, and logged (sidecar.ts).
 * - **Data path**: an application at S connects to d:p (p in `ports`); an nftables NAT rule in S's namespace
 *   (`redirect`, output hook, priority 100: after the firewall's filter at 0, which still sees the original
 *   destination) sends the connection to the S sidecar's local listener for p; the S sidecar opens a tunnel to the
 *   D sidecar on d (TCP and the TLS 1.3 handshake, then the `open` header naming d:p), which the control plane's
 *   interceptor routes into the virtual link's VXLAN device like any traffic of the pair, so the tunnel follows the
 *   link's path and its htb rate; the D sidecar, once the peer is authenticated and allowed, connects to d:p and
 *   splices. Reverse traffic (ACKs, the server's reply) takes the tunnel's TCP connection back on D's own routes, as
 *   any reverse traffic of a virtual link does. One tunnel per application connection.
 * - **Teardown** ({@link SecureLinks.close}): the NAT table, then both sidecars and their key files. The run's
 *   substrate teardown (substrate.ts) also removes the mesh directory, and sidecars exit when their driver's pipe
 *   closes (a controller killed by SIGKILL), so `topocast cleanup` leaves nothing of them.
 *
 * The sidecars are children of the process that created the link: a secure virtual link lives while that process
 * runs (another controller attached to the run sees it in the state file but cannot serve it).
 */

import { nftAddr, nftIdent, runNft } from "../nft.ts";
import type { Plan } from "../plan.ts";
import type { SecureLinkState } from "../run-state.ts";
import type { Runner } from "../runner.ts";
import { spiffeId } from "./identity.ts";
import { createMesh, type SidecarHandle, type SidecarMesh } from "./mesh.ts";
import type { Refusal, SidecarStats } from "./sidecar.ts";

export type { SecureLinkState };

/** The two identities of virtual link `k`. */
export function secureLinkIds(k: number): [string, string] {
  return [spiffeId(`vl${k}`, "src"), spiffeId(`vl${k}`, "dst")];
}

/** The name of virtual link `k`'s NAT table (in the source namespace). */
export function secureLinkTable(prefix: string, k: number): string {
  return nftIdent(`${prefix}_svl${k}`);
}

/**
 * The nft script that sends the source's connections to `dstAddr` on each of `ports` to the sidecar's listener of
 * the same index (127.0.0.1). Pure.
 */
export function redirectScript(
  table: string,
  dstAddr: string,
  ports: readonly number[],
  listeners: readonly number[],
): string[] {
  const t = nftIdent(table);
  return [
    `add table ip ${t}`,
    `add chain ip ${t} out { type nat hook output priority 100 ; }`,
    ...ports.map(
      (p, i) =>
        `add rule ip ${t} out ip daddr ${nftAddr(dstAddr)} tcp dport ${port(p)} redirect to :${port(listeners[i]!)}`,
    ),
  ];
}

function port(p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535)
    throw new RangeError(`secure link: port ${p} is not 1..65535`);
  return p;
}

/** The run's secure virtual links: one mesh (created with the first link), two sidecars per link. */
export class SecureLinks {
  private mesh: Promise<SidecarMesh> | undefined;

  constructor(
    private readonly up: { runId: string; plan: Plan },
    private readonly runner: Runner,
    private readonly dir: string,
  ) {}

  /** The run's mesh of secure-link sidecars (its CA, refusals, stats), created on first use. */
  runMesh(): Promise<SidecarMesh> {
    this.mesh ??= createMesh(this.up, { policy: { allow: [] }, dir: this.dir }).catch((e: unknown) => {
      this.mesh = undefined; // a later link tries again
      throw e;
    });
    return this.mesh;
  }

  /**
   * Starts virtual link `k`'s sidecars and interception from node `src` to node `dst` for `ports`; resolves when
   * its tunnels can be opened. On a failure it removes what it started and throws.
   */
  async open(k: number, src: string, dst: string, ports: readonly number[]): Promise<SecureLinkState> {
    const mesh = await this.runMesh();
    const [srcId, dstId] = secureLinkIds(k);
    const node = (id: string) => this.up.plan.nodes.find((n) => n.id === id)!;
    const d = node(dst).address;
    const state: SecureLinkState = {
      sidecars: [srcId, dstId],
      table: secureLinkTable(this.up.plan.prefix, k),
      ports: [...ports],
      listeners: [],
    };
    try {
      await mesh.add({
        app: `vl${k}`,
        instance: "dst",
        node: dst,
        port: 0,
        deliver: ports.map((p) => `${d}:${p}`),
        policy: { allow: [{ from: srcId, to: dstId }] },
      });
      const h: SidecarHandle = await mesh.add({
        app: `vl${k}`,
        instance: "src",
        node: src,
        port: 0,
        routes: ports.map((p) => ({ to: dstId, target: `${d}:${p}` })),
        policy: { allow: [] },
      });
      state.listeners = h.routes;
      await runNft(this.runner, node(src).netns, redirectScript(state.table, d, ports, h.routes));
    } catch (e) {
      await this.close(src, state).catch(() => {});
      throw e;
    }
    return state;
  }

  /** Removes a secure link's interception and sidecars (keys included). Idempotent. */
  async close(src: string, state: SecureLinkState): Promise<void> {
    const ns = this.up.plan.nodes.find((n) => n.id === src)!.netns;
    await this.runner.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "ip", state.table], {
      check: false,
    });
    const mesh = await this.mesh;
    if (mesh) for (const id of state.sidecars) await mesh.remove(id);
  }

  /** A secure link's sidecar counters (source, destination). */
  async stats(state: SecureLinkState): Promise<[SidecarStats, SidecarStats]> {
    const mesh = await this.runMesh();
    return [await mesh.stats(state.sidecars[0]), await mesh.stats(state.sidecars[1])];
  }

  /** Every connection the secure links' sidecars refused, with its reason. */
  async refusals(): Promise<Refusal[]> {
    return this.mesh ? (await this.mesh).refusals() : [];
  }

  /** The destination sidecar's TLS endpoint of a secure link (for tests that attack it). */
  async endpoint(state: SecureLinkState): Promise<SidecarHandle["endpoint"]> {
    return (await this.runMesh()).sidecar(state.sidecars[1]).endpoint;
  }
}
