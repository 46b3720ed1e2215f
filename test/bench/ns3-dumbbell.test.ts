/**
 * The ns-3 fidelity bench (bench/ns3-dumbbell.ts): parsing ns-3's dumbbell output, and the topocast side of the
 * same scenario (deterministic per seed; TCP start-up never makes a statistic smaller than plain max-min).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseNs3Short, topocastDumbbell } from "../../bench/ns3-dumbbell.ts";
import { LINUX_TCP_STARTUP } from "../../sim/transport/flow-network.ts";

// Printed by ns-3 3.37's dumbbell peer (`--mode=short --k=4 --flows=300 --load=0.6 --seed=1 --flowmon=0`).
const NS3_OUTPUT = `== ns-3 short dumbbell: k=4 bn=100Mbps/10ms access=1Gbps/1ms tcp=ns3::TcpNewReno qdisc=fifo(1000p) seed=1 ==
wall_setup_s=0.123 wall_run_s=11.395 sim_time_s=9.063 sim/wall=0.795 events=480270 events_per_wall_s=4.21e+04
pkt_tx_all_devices=195172 (1.71e+04 pkt-hops/wall-s) pkt_tx_bottleneck=43126 qdisc_drops_bn=0
short: flows=300 completed=300 total_bytes=60924321 last_arrival=8.873s
  FCT all          n= 300 mean=  140.85 p50=  129.93 p95=  270.09 p99=  313.73 max=  330.60 ms
  FCT <100KB       n= 154 mean=   85.70 p50=   84.82 p95=  133.01 p99=  153.54 max=  160.61 ms
  FCT >=100KB      n= 146 mean=  199.03 p50=  192.12 p95=  284.18 p99=  324.25 max=  330.60 ms
  slowdown(FCT/(1.5*baseRTT+size/C)) p50=2.69 p95=3.63 p99=3.93
maxrss_MB=27 wall_total_s=11.532
`;

describe("ns-3 dumbbell bench", () => {
  it("parses ns-3's short-flow statistics", () => {
    assert.deepEqual(parseNs3Short(NS3_OUTPUT), {
      all: { n: 300, mean: 140.85, p50: 129.93, p95: 270.09, p99: 313.73 },
      small: { n: 154, mean: 85.7, p50: 84.82, p95: 133.01, p99: 153.54 },
      large: { n: 146, mean: 199.03, p50: 192.12, p95: 284.18, p99: 324.25 },
      slowdown: { p50: 2.69, p95: 3.63, p99: 3.93 },
    });
  });

  it("gives null statistics for output without them", () => {
    assert.deepEqual(parseNs3Short("nothing"), { all: null, small: null, large: null, slowdown: null });
  });

  for (const load of [0.3, 0.8]) {
    it(`topocast side at load ${load}: same seed, same statistics; TCP start-up only adds time`, () => {
      const a = topocastDumbbell(load, 1, LINUX_TCP_STARTUP);
      assert.deepEqual(topocastDumbbell(load, 1, LINUX_TCP_STARTUP), a);
      const plain = topocastDumbbell(load, 1, null);
      assert.equal(a.all!.n, 300);
      assert.equal(plain.all!.n, 300);
      for (const k of ["mean", "p50", "p95", "p99"] as const) {
        assert.ok(a.all![k] >= plain.all![k], `${k}: ${a.all![k]} < plain ${plain.all![k]}`);
      }
    });
  }
});
