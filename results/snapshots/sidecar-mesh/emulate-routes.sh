#!/bin/sh
# Issue 16/15 route-change measurement (pins, stop 27): the emulated sidecar-mesh comparison with the attacks
# (the README's command plus its attacks), then intent-mesh-emulate. Run as root from the repository's root:
#   sudo -E sh results/snapshots/sidecar-mesh/emulate-routes.sh <out-dir>
# Writes <out-dir>/sidecar and <out-dir>/intent (topocast's results directories).
set -e
out=${1:?usage: emulate-routes.sh <out-dir>}
export TOPOCAST_SHARED_DATA=${TOPOCAST_SHARED_DATA:-/work/shared/data}
model=$PWD/results/snapshots/sidecar-mesh/model.json
npx topocast emulate experiments/configs/sidecar-mesh.yaml --with-sim --out "$out/sidecar" \
  --set workload.window.duration=10min --set control.convergenceDelay=1s \
  --set 'failures=[{at: 300ms, link: DNVRng->KSCYng, state: degraded, capacity: 2.48Gbps, delay: 25ms, loss: 0.005}, {at: 1s, link: KSCYng->IPLSng, state: down}]' \
  --set 'attacks=[{kind: unauthenticated, node: ATLAM5, targets: [NYCMng], at: 200ms, duration: 1500ms, rate: 10}, {kind: scan, node: STTLng, at: 300ms, duration: 1s, rate: 20}]' \
  --set emulation.rateScale=0.001 --set emulation.timeCompression=0.1 --set emulation.drain=3s \
  --set "policies=[{name: ron, params: {probeBudget: 48, maxPairs: 16}}, {name: rl-mesh, params: {probeBudget: 48, maxPairs: 16, model: $model}}, {name: oracle-path, predictor: {name: oracle}}]"
if [ "${SKIP_INTENT:-0}" != 1 ]; then
  npx topocast emulate experiments/configs/intent-mesh-emulate.yaml --with-sim --out "$out/intent"
fi
