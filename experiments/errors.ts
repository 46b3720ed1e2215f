/**
 * Which errors are the user's input (exit code 2, message only) rather than topocast's bugs (exit code 1).
 * Every domain error class names the file, field or element and the value at fault in its message.
 */

import { EmulationError } from "../emulate/errors.ts";
import { LearnError } from "../models/personas/learn.ts";
import { PersonaError } from "../models/personas/profile.ts";
import { PredictorError } from "../models/predictors/predictor.ts";
import { RegistryError } from "../models/services/errors.ts";
import { WorkloadError } from "../models/workload/poisson-flows.ts";
import { DistributionError } from "../sim/kernel/rng.ts";
import { SimulationError } from "../sim/kernel/simulator.ts";
import { MetricsError } from "../sim/metrics/flow-stats.ts";
import { TopologyError } from "../sim/substrate/topology.ts";
import { TransportError } from "../sim/transport/flow-network.ts";
import { UnitError } from "../sim/units.ts";
import { ToleranceError } from "./compare.ts";
import { ConfigError } from "./config/load.ts";
import { ResultsError } from "./results.ts";
import { SweepError } from "./sweep.ts";

const USER_ERRORS = [
  TopologyError,
  UnitError,
  DistributionError,
  WorkloadError,
  MetricsError,
  ConfigError,
  ResultsError,
  ToleranceError,
  SweepError,
  PredictorError,
  EmulationError,
  RegistryError,
  PersonaError,
  LearnError,
];

/** Whether `e` reports bad input (a file, config value or argument) rather than an internal failure. */
export function isUserError(e: unknown): boolean {
  return USER_ERRORS.some((cls) => e instanceof cls);
}

export { SimulationError, TransportError };
