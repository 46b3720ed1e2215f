/**
 * Building a {@link TrafficMatrixSeries} with its invariants checked: node ids unique and sorted, a positive integer
 * interval, one N x N row-major matrix per interval of finite non-negative bits/s with a zero diagonal. Every reader
 * and generator of models/workload returns series built here, so consumers can rely on the invariants.
 */
import { quote, WorkloadError } from "./errors.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";

/** Code-unit order, the order of topology node ids ({@link TopologyBuilder} sorts the same way). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface SeriesParts {
  source: string;
  nodes: readonly string[];
  intervalNs: number;
  rates: readonly Float64Array[];
  labels?: readonly string[] | undefined;
}

/**
 * A validated series; `startNs` is `t x intervalNs`.
 * @throws WorkloadError naming `parts.source` and the interval, pair and value at fault.
 */
export function buildSeries(parts: SeriesParts): TrafficMatrixSeries {
  const { source, nodes, intervalNs, rates, labels } = parts;
  const n = nodes.length;
  for (let i = 0; i < n; i++) {
    if (nodes[i] === "") throw new WorkloadError(`${source}: node ids must be non-empty`);
    if (i > 0 && compareIds(nodes[i - 1]!, nodes[i]!) >= 0) {
      throw new WorkloadError(
        `${source}: node ids must be unique and sorted, got ${quote(nodes[i - 1])} before ${quote(nodes[i])}`,
      );
    }
  }
  if (!Number.isSafeInteger(intervalNs) || intervalNs <= 0) {
    throw new WorkloadError(`${source}: interval must be a positive integer of ns, got ${intervalNs}`);
  }
  if (labels !== undefined && labels.length !== rates.length) {
    throw new WorkloadError(`${source}: ${labels.length} labels for ${rates.length} intervals`);
  }
  rates.forEach((m, t) => {
    if (m.length !== n * n) {
      throw new WorkloadError(
        `${source}: interval ${t}: matrix has ${m.length} entries, expected ${n} x ${n}`,
      );
    }
    for (let k = 0; k < m.length; k++) {
      const v = m[k]!;
      const i = Math.floor(k / n);
      const j = k % n;
      if (!(v >= 0) || !Number.isFinite(v) || (i === j && v !== 0)) {
        throw new WorkloadError(
          `${source}: interval ${t}: pair ${nodes[i]}->${nodes[j]}: rate must be a finite number >= 0 bits/s` +
            `${i === j ? " and 0 on the diagonal" : ""}, got ${v}`,
        );
      }
    }
  });
  const startNs = Float64Array.from(rates, (_, t) => t * intervalNs);
  return { source, nodes: [...nodes], intervalNs, startNs, labels: labels && [...labels], rates };
}

/** Sum of all pair rates of interval t, bits/s. */
export function totalRate(series: TrafficMatrixSeries, t: number): number {
  let s = 0;
  for (const v of series.rates[t]!) s += v;
  return s;
}
