/**
 * Arrivals of a Poisson process whose rate is constant within each interval of a fixed grid (a non-homogeneous
 * Poisson process with piecewise-constant intensity), by inversion of the cumulative intensity.
 *
 * Time-rescaling theorem (E. Çinlar, "Introduction to Stochastic Processes", 1975, ch. 4): if E_1, E_2, ... are
 * i.i.d. Exp(1) and Lambda(t) is the integral of the intensity, then t_n = Lambda^-1(Lambda(t_{n-1}) + E_n) are
 * the arrival times of a Poisson process with that intensity. With a piecewise-constant intensity, Lambda^-1 is a
 * walk over intervals: in an interval with mean gap g (1 / rate) and time r left, the arrival falls inside when
 * E x g <= r; otherwise E decreases by r / g and the walk moves on. Zero-rate intervals (g = Infinity) consume
 * nothing. Exact, one Exp(1) draw per arrival, and it never carries a gap drawn at one rate into an interval with
 * another (the common mistake, which biases counts towards the previous interval's rate).
 */

/**
 * Time from `t` to the next arrival, or Infinity when there is none before the grid ends.
 *
 * @param e an Exp(1) draw.
 * @param t current time on the grid's clock (interval k covers [k x intervalNs, (k + 1) x intervalNs)), >= 0.
 * @param intervalNs interval length (> 0).
 * @param count number of intervals (>= 1).
 * @param repeat whether interval `count` is interval 0 again (a periodic rate) instead of the end.
 * @param meanGapAt mean time between arrivals in interval k (> 0; Infinity for a zero rate). With `repeat`, some
 *   interval must have a finite mean gap, or the walk never ends.
 * For a constant rate this returns exactly `e x meanGap` (no rounding from the walk).
 */
export function piecewiseArrivalOffset(
  e: number,
  t: number,
  intervalNs: number,
  count: number,
  repeat: boolean,
  meanGapAt: (k: number) => number,
): number {
  let offset = 0;
  let rest = e;
  let now = t;
  for (;;) {
    const step = Math.floor(now / intervalNs);
    if (step >= count && !repeat) return Number.POSITIVE_INFINITY;
    const end = (step + 1) * intervalNs;
    const left = end - now;
    const gap = meanGapAt(step % count);
    if (gap !== Number.POSITIVE_INFINITY) {
      const need = rest * gap;
      if (need <= left) return offset + need;
      rest -= left / gap;
    }
    offset += left;
    now = end;
  }
}
