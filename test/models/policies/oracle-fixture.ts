/** Test fixture: an oracle forecast over the nodes of test/sim/control/fixture.ts's diamond. */
import { PairIndex } from "../../../models/policies/common.ts";
import { OraclePredictor } from "../../../models/predictors/oracle.ts";

export const NODES = ["a", "b", "s", "t", "u", "v"];
export const pairs = new PairIndex(NODES);

/** An oracle that knows each pair's bytes per 10 ms interval, the same in each of 20 intervals. */
export function oracle(bytes: Record<string, number>): OraclePredictor {
  const rows = Array.from({ length: 20 }, () => {
    const r = new Float64Array(pairs.size);
    for (const [key, b] of Object.entries(bytes)) {
      const [src, dst] = key.split("->") as [string, string];
      r[pairs.index(src, dst)] = b;
    }
    return r;
  });
  return new OraclePredictor(pairs.size, { rows });
}
