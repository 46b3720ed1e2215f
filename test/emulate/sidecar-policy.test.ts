/**
 * The sidecar mesh's zero-trust authorization table (emulate/sidecar/policy.ts), the tunnel header
 * (emulate/sidecar/tunnel.ts) and the refusal reasons of failed handshakes (emulate/sidecar/sidecar.ts), without root.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmulationError } from "../../emulate/errors.ts";
import { authorize, checkPolicy } from "../../emulate/sidecar/policy.ts";
import { handshakeReason } from "../../emulate/sidecar/sidecar.ts";
import { expectIdentity, parseHeader } from "../../emulate/sidecar/tunnel.ts";

const policy = checkPolicy({
  allow: [
    { from: "spiffe://topocast/web/*", to: "spiffe://topocast/db/0" },
    { from: "spiffe://topocast/web/0", to: "spiffe://topocast/relay/0" },
  ],
});

describe("allow policy", () => {
  const TABLE: [string, string, number | false][] = [
    ["spiffe://topocast/web/0", "spiffe://topocast/db/0", 0],
    ["spiffe://topocast/web/7", "spiffe://topocast/db/0", 0],
    ["spiffe://topocast/web/0", "spiffe://topocast/relay/0", 1],
    ["spiffe://topocast/web/1", "spiffe://topocast/relay/0", false],
    ["spiffe://topocast/web/0", "spiffe://topocast/db/1", false],
    ["spiffe://topocast/db/0", "spiffe://topocast/web/0", false],
    ["spiffe://topocast/webx/0", "spiffe://topocast/db/0", false],
    ["spiffe://evil/web/0", "spiffe://topocast/db/0", false],
    ["spiffe://topocast/web/0/x", "spiffe://topocast/db/0", false],
  ];
  for (const [from, to, rule] of TABLE) {
    it(`${from} -> ${to}: ${rule === false ? "refused" : `allowed by rule ${rule}`}`, () => {
      assert.deepEqual(
        authorize(policy, from, to),
        rule === false ? { allowed: false } : { allowed: true, rule },
      );
    });
  }

  it("refuses everything when empty (default deny)", () => {
    assert.deepEqual(authorize({ allow: [] }, "spiffe://topocast/web/0", "spiffe://topocast/db/0"), {
      allowed: false,
    });
  });

  const BAD: [unknown, RegExp][] = [
    [{}, /^policy\.allow: expected a list/],
    [{ allow: [{ from: "web", to: "spiffe://topocast/db/0" }] }, /^policy\.allow\[0\]\.from: .* got "web"$/],
    [{ allow: [{ from: "spiffe://topocast/*", to: "spiffe://topocast/db/0" }] }, /allow\[0\]\.from/],
    [{ allow: [{ from: "spiffe://topocast/web/0" }] }, /^policy\.allow\[0\]\.to: .* got undefined$/],
  ];
  for (const [p, msg] of BAD) {
    it(`rejects ${JSON.stringify(p)} naming the field`, () => {
      assert.throws(
        () => checkPolicy(p),
        (e: unknown) => e instanceof EmulationError && msg.test(e.message),
      );
    });
  }
});

describe("tunnel header", () => {
  const TABLE: [string, unknown][] = [
    ['{"op":"open","target":"10.213.0.2:7000"}', { op: "open", target: "10.213.0.2:7000" }],
    ['{"op":"relay","next":"10.213.0.3:15001"}', { op: "relay", next: "10.213.0.3:15001" }],
    ['{"op":"open","target":"example.com:80"}', undefined],
    ['{"op":"open","target":"10.0.0.1:0"}', undefined],
    ['{"op":"open","target":"10.0.0.1:70000"}', undefined],
    ['{"op":"exec"}', undefined],
    ["GET / HTTP/1.1", undefined],
  ];
  for (const [line, header] of TABLE) {
    it(`reads ${line} as ${JSON.stringify(header)}`, () => assert.deepEqual(parseHeader(line), header));
  }
});

describe("handshake refusal reasons", () => {
  const TABLE: [unknown, string | undefined, string][] = [
    [null, "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", "no-certificate"],
    ["CERT_REVOKED", "ECONNRESET", "revoked"],
    ["CERT_HAS_EXPIRED", "ECONNRESET", "expired"],
    ["CERT_NOT_YET_VALID", "ECONNRESET", "not-yet-valid"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "ECONNRESET", "wrong-ca"],
    ["CERT_CHAIN_TOO_LONG", "ECONNRESET", "bad-certificate"],
    [undefined, "ECONNRESET", "handshake-failed"],
    [undefined, "ERR_SSL_UNSUPPORTED_PROTOCOL", "handshake-failed"],
  ];
  for (const [code, err, reason] of TABLE) {
    it(`${String(code)} / ${err} -> ${reason}`, () => assert.equal(handshakeReason(code, err), reason));
  }
});

describe("server identity check (checkServerIdentity of tunnels and negotiation)", () => {
  const check = expectIdentity("spiffe://topocast/db/0");
  const TABLE: [string | undefined, boolean][] = [
    ["URI:spiffe://topocast/db/0", true],
    ["URI:spiffe://topocast/db/1", false],
    ["URI:spiffe://topocast/db/0, URI:spiffe://topocast/web/0", false],
    ["DNS:db", false],
    [undefined, false],
  ];
  for (const [san, ok] of TABLE) {
    it(`${JSON.stringify(san)}: ${ok ? "accepted" : "refused"}`, () => {
      const r = check("10.213.0.2", { subjectaltname: san } as Parameters<typeof check>[1]);
      assert.equal(r === undefined, ok);
    });
  }
});
