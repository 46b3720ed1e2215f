/**
 * The RL mesh's security-risk term fed by intrusion detection: links into or out of a node the detector flagged
 * count as insecure in the secure share (context and reward), on top of `insecureLinks`; without detections the
 * risk is that of `insecureLinks` alone (so runs without an IDS are unchanged).
 *
 *        a
 *      /   \
 *    s       t
 *      \   /
 *        b
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RlMesh } from "../../../models/policies/rl-mesh.ts";
import { DEFAULT_REWARD, DIMENSION } from "../../../models/rl/features.ts";
import { PathBandit } from "../../../models/rl/path-bandit.ts";
import { IntrusionDetector } from "../../../models/security/ids.ts";
import { riskyNodes } from "../../../models/security/prevention.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";

function rlMesh(insecureLinks: string[] = []): RlMesh {
  return new RlMesh({
    bandit: new PathBandit(DIMENSION),
    reward: DEFAULT_REWARD,
    exploration: { alpha: 0, epsilon: 0 },
    learn: false,
    rng: new RandomStreams(1).stream("policy/rl-mesh"),
    margin: 0.05,
    probeBudget: 20,
    maxPairs: 8,
    maxMoves: 8,
    candidates: { kPaths: 4, relays: 2 },
    insecureLinks,
  });
}

describe("rl-mesh security risk from detections", () => {
  const viaA = ["s", "a", "t"];
  const viaB = ["s", "b", "t"];

  it("is the insecure links' share without detections", () => {
    const m = rlMesh(["s->b"]);
    assert.equal(m.securityRisk(viaA), 0);
    assert.equal(m.securityRisk(viaB), 0.5);
  });

  it("counts every link touching a detected node as insecure", () => {
    const m = rlMesh(["s->b"]);
    const d = new IntrusionDetector();
    for (let i = 0; i < 5; i++)
      d.observe({ timeNs: i, src: "a", dst: "t", port: 1, outcome: "refused-auth" });
    m.setRiskyNodes(riskyNodes(d.detections));
    assert.equal(m.securityRisk(viaA), 1);
    assert.equal(m.securityRisk(viaB), 0.5);
  });
});
