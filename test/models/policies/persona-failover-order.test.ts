/**
 * The persona policy's failover hook, call by call, on the simulator's control plane (no clock, no load): which
 * pairs it moves and in which order. A pair's return direction moves with it while its default route still crosses
 * the failed cable, and every route goes in before the virtual links are made again. Found in the emulator
 * (test/emulate/persona-failover.test.ts): with only the pair's own direction moved, its calls reached the server
 * over the new path but the server's SYN-ACKs had no route back (the failed gateway's routes were gone, the default
 * routes not yet reconverged), so every call after the failure waited for the reconvergence (1 s).
 *
 *        u        v
 *        |        |
 *        s - a -- t        s -> t's virtual link over s - a - t (1 ms per link); s - a fails;
 *         \      /         the other way is s - b - t (2 ms per link)
 *          b ---'
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PersonaPolicy } from "../../../models/policies/persona.ts";
import type { ControlPlane, Observation } from "../../../models/policies/types.ts";
import { SimDataPlane } from "../../../sim/control/sim-data-plane.ts";
import { setup } from "../../sim/control/fixture.ts";

/** The control plane, recording each action's verb and its pair as `verb src->dst` (`obs`: the virtual links' pairs). */
function recorded(ctl: ControlPlane, obs: Observation, calls: string[]): ControlPlane {
  const pairOf = new Map(obs.virtualLinks.map((v) => [v.id, `${v.src}->${v.dst}`]));
  const actions = new Set(["setRoute", "createVirtualLink", "removeVirtualLink"]);
  return new Proxy(ctl, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || !actions.has(String(prop))) return value;
      return (...args: unknown[]) => {
        const [first, second] = args;
        const what =
          typeof first === "string" && typeof second === "string"
            ? `${first}->${second}`
            : typeof first === "string"
              ? pairOf.get(first)
              : `${(first as { src: string }).src}->${(first as { dst: string }).dst}`;
        calls.push(`${String(prop)} ${what}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const cases: {
  name: string;
  /** Virtual links in place before the failure (src, dst, path). */
  links: [string, string, string[]][];
  /** Whether the default routes reconverged before the hook (convergence delay 0). */
  reconverged: boolean;
  calls: string[];
}[] = [
  {
    name: "the return direction on the failed cable moves too, its route before the virtual link is made again",
    links: [["s", "t", ["s", "a", "t"]]],
    reconverged: false,
    calls: ["setRoute s->t", "setRoute t->s", "removeVirtualLink s->t", "createVirtualLink s->t"],
  },
  {
    name: "a return direction with its own virtual link is left to the hook of the cable's other direction",
    links: [
      ["s", "t", ["s", "a", "t"]],
      ["t", "s", ["t", "a", "s"]],
    ],
    reconverged: false,
    calls: ["setRoute s->t", "removeVirtualLink s->t", "createVirtualLink s->t"],
  },
  {
    name: "a return direction whose default route left the cable already (reconverged) stays on it",
    links: [["s", "t", ["s", "a", "t"]]],
    reconverged: true,
    calls: ["setRoute s->t", "removeVirtualLink s->t", "createVirtualLink s->t"],
  },
];

describe("the persona policy's failover hook", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { ctl, net, l, routing, topo } = setup();
      for (const [src, dst, path] of c.links) await ctl.createVirtualLink(src, dst, { path });
      const down = [l("s->a"), l("a->s")];
      for (const x of down) net.setLinkUp(x, false);
      if (c.reconverged) routing.linksChanged(new Set(down));
      const obs: Observation = {
        timeNs: 0,
        intervalNs: 1,
        nodes: topo.nodes.map((n) => n.id).sort(),
        ...new SimDataPlane(net, ctl).observe(0, 1, false),
      };
      const calls: string[] = [];
      await new PersonaPolicy([]).onLinkDown("s->a", obs, recorded(ctl, obs, calls), 0);
      assert.deepEqual(calls, c.calls);
      // Wherever the hook pinned a route, it avoids the failed cable.
      for (const [pair, path] of ctl.routes())
        assert.ok(!path.join(" ").includes("s a") && !path.join(" ").includes("a s"), `${pair}: ${path}`);
    });
  }
});
