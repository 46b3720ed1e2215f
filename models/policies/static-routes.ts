/**
 * A static routing baseline (shortest path, ECMP) as a policy: it takes no action of its own. Its routes are the
 * engine's default routing, built from the baseline's routing (sim/engine/static-routing.ts): the simulator routes
 * every flow with it, the emulator pins its paths once as per-pair routes where they differ from the substrate's
 * (and again after default routes reconverge). So a static baseline meets link failures, the convergence delay and
 * time to recover through the same control driver (models/control/driver.ts) as every other policy.
 */
import type { Policy } from "./types.ts";

export class StaticRoutes implements Policy {
  constructor(readonly name: string) {}

  decide(): void {}
}
