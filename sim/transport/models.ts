/**
 * The transport models a config can select (`transport.model`), and the one place that builds them. Adding a
 * model: implement {@link Transport} (and whichever capabilities it has) in sim/transport/, add its name here.
 */
import type { Simulator } from "../kernel/simulator.ts";
import type { TraceBus } from "../metrics/trace.ts";
import type { Topology } from "../substrate/topology.ts";
import { FlowNetwork, type FlowNetworkOptions } from "./flow-network.ts";
import { LINUX_PACKET_TCP, type PacketCongestionControl, scaleTcpTimers } from "./packet/tcp-options.ts";
import { PacketNetwork } from "./packet-network.ts";
import type { Transport } from "./transport.ts";

/**
 * Transport models a config may name in `transport.model`: `fluid` (sim/transport/flow-network.ts, max-min fair
 * rates) and `packet` (sim/transport/packet-network.ts, TCP over drop-tail FIFOs, packet by packet).
 */
export const TRANSPORT_MODELS = ["fluid", "packet"] as const;
export type TransportModel = (typeof TRANSPORT_MODELS)[number];

/** The optional capabilities of sim/transport/transport.ts, by name. */
export interface TransportCapabilities {
  reservations: boolean;
  mirrors: boolean;
  priorities: boolean;
  probes: boolean;
  drops: boolean;
}

/**
 * What each model offers, declared so configs can be checked before a run builds one (the transport-models test
 * holds each model to its row through the guards).
 */
export const TRANSPORT_CAPABILITIES: Readonly<Record<TransportModel, Readonly<TransportCapabilities>>> = {
  fluid: { reservations: true, mirrors: true, priorities: true, probes: true, drops: false },
  packet: { reservations: false, mirrors: false, priorities: false, probes: true, drops: true },
};

/**
 * Builds the configured transport model on a simulator and topology; callers test capabilities with the guards.
 * The packet model reads `opts.tcp` (handshake, initial window, MSS over Linux's defaults; null: no handshake),
 * `opts.congestionControl` (default NewReno), `opts.sack` (default on, as Linux), `opts.timerScale` (Linux's TCP
 * timers times this, {@link scaleTcpTimers}; default 1),
 * `opts.queue` (every link's FIFO; null: the emulator's default, 10 ms at the link rate) and `opts.lossRandom` (the
 * draws of degraded links' loss).
 */
export function createTransport(
  model: TransportModel,
  sim: Simulator,
  topology: Topology,
  trace?: TraceBus,
  opts: FlowNetworkOptions & {
    congestionControl?: PacketCongestionControl;
    sack?: boolean;
    timerScale?: number;
    lossRandom?: () => number;
  } = {},
): Transport {
  switch (model) {
    case "fluid":
      return new FlowNetwork(sim, topology, trace, opts);
    case "packet": {
      const common = {
        congestionControl: opts.congestionControl ?? "newreno",
        sack: opts.sack ?? true,
        ...(opts.timerScale !== undefined && opts.timerScale !== 1
          ? scaleTcpTimers(LINUX_PACKET_TCP, opts.timerScale)
          : {}),
      };
      return new PacketNetwork(sim, topology, trace, {
        tcp: opts.tcp
          ? {
              handshake: opts.tcp.handshake,
              initialWindowSegments: opts.tcp.initialWindowSegments,
              mssBytes: opts.tcp.mssBytes,
              ...common,
            }
          : { handshake: false, ...common },
        buffer: opts.queue ?? null,
        ...(opts.lossRandom ? { lossRandom: opts.lossRandom } : {}),
      });
    }
  }
}
