/**
 * Circuits: dedicated paths with a reserved rate and their own firewall rules (issue 15's Dynamic Network
 * Configuration Layer; the seed's `createCircuit` / `updateFirewallRule`). Engine-neutral: a circuit is made of
 * ControlPlane verbs (models/policies/verbs.ts), so the simulator and the emulator run this same code and a journal
 * (models/policies/journal.ts) or the recording decorator see its parts as ordinary actions.
 *
 * - `createCircuit(src, dst, path, {rateBps})` = `createVirtualLink(src, dst, {path, rateBps})`: the pair's new
 *   traffic src -> dst takes the circuit (a virtual link carries its pair one way), with `rateBps` reserved on
 *   every link of the path: in the simulator a pseudo link of exactly that capacity (sim/transport ReservationCapable),
 *   in the emulator htb classes for the tunnel on every egress of the path plus a cap on its device (emulate/qos.ts
 *   `reserve`). The call resolves when the engine accepted it; the circuit carries traffic after the engine's
 *   virtual-link setup latency (simulator) or once its commands ran (emulator): the action records' latency is its
 *   set-up time.
 * - `updateFirewallRule(circuitId, rule)`: the rule, narrowed to the circuit's pair, through `setFirewall` (the last
 *   matching rule decides, so a rule replaces an earlier one of the circuit with the same match fields). While a
 *   circuit lives it owns its pair's firewall scope: removing it re-opens the pair (`allow` src -> dst), the
 *   engines' default. Rules set on that pair before the circuit are not restored; use a journal's rollback when
 *   they matter.
 * - `removeCircuit(circuitId)`: removes the virtual link (the pair's traffic returns to its route or the default
 *   path), then re-opens the pair when the circuit had firewall rules.
 *
 * Errors are the verbs' typed ControlErrors (NoPathError, InsufficientCapacityError, PoolExhaustedError,
 * UnknownNodeError, ...); an unknown circuit id is a NoPathError naming it. A failed call leaves the circuits as
 * they were.
 */
import {
  type ControlPlane,
  type FirewallRule,
  InvalidArgumentError,
  type NodePath,
  NoPathError,
} from "../policies/types.ts";

/** The fields of a circuit's firewall rule: what to do with the pair's flows that match the rest. */
export type CircuitRule = Pick<FirewallRule, "action" | "application" | "port" | "protocol">;

export interface CircuitOptions {
  /** Rate reserved on every link of the path, bits/s (> 0). */
  rateBps: number;
}

/** A circuit as {@link Circuits} holds it. */
export interface Circuit {
  readonly id: string;
  readonly src: string;
  readonly dst: string;
  readonly path: NodePath;
  readonly rateBps: number;
  /** The virtual link the circuit is made of (the ControlPlane's id). */
  readonly virtualLink: string;
  /** The circuit's firewall rules, oldest first (the last matching one decides). */
  readonly rules: readonly CircuitRule[];
}

const sameMatch = (a: CircuitRule, b: CircuitRule) =>
  a.application === b.application && a.port === b.port && a.protocol === b.protocol;

/** The circuits one controller built over one ControlPlane, by id (`c<k>:<src>-><dst>`, k counting from 0). */
export class Circuits {
  private readonly circuits = new Map<string, Circuit>();
  private next = 0;

  constructor(private readonly ctl: ControlPlane) {}

  /**
   * Builds a circuit src -> dst along `path` (which must start at src and end at dst) with `rateBps` reserved.
   * @returns the circuit
   * @throws InvalidArgumentError (path endpoints, rate), and the createVirtualLink errors
   */
  async createCircuit(src: string, dst: string, path: NodePath, opts: CircuitOptions): Promise<Circuit> {
    if (path[0] !== src || path[path.length - 1] !== dst)
      throw new InvalidArgumentError(`createCircuit: path ${path.join(" ")} must run from ${src} to ${dst}`);
    if (!(opts.rateBps > 0) || !Number.isFinite(opts.rateBps))
      throw new InvalidArgumentError(`createCircuit: rateBps must be > 0 bits/s, got ${opts.rateBps}`);
    const virtualLink = await this.ctl.createVirtualLink(src, dst, { path, rateBps: opts.rateBps });
    const id = `c${this.next++}:${src}->${dst}`;
    const c: Circuit = { id, src, dst, path: [...path], rateBps: opts.rateBps, virtualLink, rules: [] };
    this.circuits.set(id, c);
    return c;
  }

  /**
   * Adds (or, with the same application/port/protocol, replaces) a firewall rule of the circuit, for its pair.
   * @throws NoPathError for an unknown circuit, and the setFirewall errors
   */
  async updateFirewallRule(circuitId: string, rule: CircuitRule): Promise<void> {
    const c = this.get(circuitId, "updateFirewallRule");
    const { action, application, port, protocol } = rule;
    const own: CircuitRule = {
      action,
      ...(application !== undefined ? { application } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
    };
    await this.ctl.setFirewall({ ...own, src: c.src, dst: c.dst });
    this.circuits.set(circuitId, { ...c, rules: [...c.rules.filter((r) => !sameMatch(r, own)), own] });
  }

  /**
   * Removes the circuit: its virtual link, then (when it had rules) its firewall scope (the pair allowed again).
   * @throws NoPathError for an unknown circuit, and the removeVirtualLink / setFirewall errors
   */
  async removeCircuit(circuitId: string): Promise<void> {
    const c = this.get(circuitId, "removeCircuit");
    await this.ctl.removeVirtualLink(c.virtualLink);
    this.circuits.delete(circuitId);
    if (c.rules.length > 0) await this.ctl.setFirewall({ action: "allow", src: c.src, dst: c.dst });
  }

  /** The circuit `id`, if it exists. */
  of(id: string): Circuit | undefined {
    return this.circuits.get(id);
  }

  /** Every circuit, oldest first. */
  list(): Circuit[] {
    return [...this.circuits.values()];
  }

  private get(id: string, verb: string): Circuit {
    const c = this.circuits.get(id);
    if (!c) throw new NoPathError(`${verb}: no circuit "${id}"`);
    return c;
  }
}
