/**
 * The simulator models an emulation is compared with (`emulation.compareWith`), and the `--set` overrides that turn
 * a config's transport into each: `fluid` (max-min fair rates, no TCP start-up: `transport.tcp: false`, no fluid
 * queues), `fluid-tcp` (the TCP-aware fluid model: the config's `transport.tcp`, or its defaults when it is false;
 * its `transport.queue` kept) and `packet` (`transport.model: packet`, TCP as configured or Linux's defaults, every
 * FIFO sized as the emulator sizes its own, `emulation.queue`, unless `transport.queue` says otherwise, and the
 * TCP timers as the emulator's wall-time timers last in simulated time, `transport.timerScale` =
 * `emulation.timeCompression`, unless the config sets it).
 */

/** The comparable simulator models, in the order their columns appear. */
export const SIM_MODEL_VARIANTS = ["fluid", "fluid-tcp", "packet"] as const;
export type SimModelVariant = (typeof SIM_MODEL_VARIANTS)[number];

/** The part of a config's `transport` section a variant is derived from. */
export interface TransportAsConfigured {
  model: "fluid" | "packet";
  tcp: false | object;
  queue: false | string;
  /** transport.timerScale, when the config sets it. */
  timerScale?: number | undefined;
}

/** The variant a config's own transport is. */
export function variantOf(t: TransportAsConfigured): SimModelVariant {
  if (t.model === "packet") return "packet";
  return t.tcp === false ? "fluid" : "fluid-tcp";
}

/**
 * `--set path=value` overrides that make a config with transport `t` run the model `v`; empty when it already does
 * (so the simulator's own results directory of the config can be reused).
 * @param emulationQueue the config's `emulation.queue` ("10ms", "1000p"): the packet model's FIFOs when the config
 *   gives none.
 * @param timeCompression the config's `emulation.timeCompression` c: the packet model's TCP timers are c times
 *   Linux's, as the emulator's wall-time timers appear in simulated time, unless the config sets
 *   `transport.timerScale`.
 */
export function variantOverrides(
  v: SimModelVariant,
  t: TransportAsConfigured,
  emulationQueue: string,
  timeCompression = 1,
): string[] {
  const out: string[] = [];
  const model = v === "packet" ? "packet" : "fluid";
  if (t.model !== model) out.push(`transport.model=${model}`);
  if (v === "fluid") {
    if (t.tcp !== false) out.push("transport.tcp=false");
    if (t.queue !== false) out.push("transport.queue=false");
  } else if (t.tcp === false) {
    out.push("transport.tcp={}");
  }
  // The packet model's FIFOs without transport.queue are 10 ms at the link rate, as the emulator's by default.
  if (v === "packet" && t.queue === false && emulationQueue !== "10ms") {
    out.push(`transport.queue=${emulationQueue}`);
  }
  if (v === "packet" && t.timerScale === undefined && timeCompression !== 1) {
    out.push(`transport.timerScale=${timeCompression}`);
  }
  return out;
}
