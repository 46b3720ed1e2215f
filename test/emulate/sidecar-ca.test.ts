/**
 * The sidecar mesh's run CA (emulate/sidecar/ca.ts) and identities (emulate/sidecar/identity.ts), without root:
 * issuance, the refusals of verifyLeaf (table-driven: expired, not yet valid, wrong CA, revoked, wrong identity),
 * and that OpenSSL reads the bundle's CRL (node:tls's secure context with `crl`).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { before, describe, it } from "node:test";
import { createSecureContext } from "node:tls";
import { EmulationError } from "../../emulate/errors.ts";
import {
  type LeafCredentials,
  type LeafVerdict,
  RunCa,
  type TrustBundle,
  verifyLeaf,
} from "../../emulate/sidecar/ca.ts";
import { identityOfSan, parseSpiffeId, spiffeId } from "../../emulate/sidecar/identity.ts";

const HOUR = 3_600_000;

describe("run CA", () => {
  let ca: RunCa;
  let other: RunCa;
  let bundle: TrustBundle;
  const leaves = new Map<string, LeafCredentials>();

  before(async () => {
    ca = await RunCa.create("1a2b3c");
    other = await RunCa.create("1a2b3d");
    leaves.set("valid", await ca.issue("web", "0"));
    leaves.set("revoked", await ca.issue("web", "1"));
    const past = Date.now() - 3 * HOUR;
    leaves.set(
      "expired",
      await ca.issue("web", "2", { notBefore: new Date(past), notAfter: new Date(past + HOUR) }),
    );
    const future = Date.now() + 2 * HOUR;
    leaves.set(
      "future",
      await ca.issue("web", "3", { notBefore: new Date(future), notAfter: new Date(future + HOUR) }),
    );
    leaves.set("foreign", await other.issue("web", "0"));
    ca.revoke(leaves.get("revoked")!.serial);
    bundle = await ca.bundle();
  });

  it("issues ECDSA P-256 leaves whose only URI SAN is the instance's SPIFFE ID, for both TLS roles", () => {
    const leaf = leaves.get("valid")!;
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(cert.subjectAltName, "URI:spiffe://topocast/web/0");
    assert.equal(leaf.spiffeId, "spiffe://topocast/web/0");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(cert.checkIssued(new X509Certificate(ca.caPem)));
    assert.ok(cert.verify(new X509Certificate(ca.caPem).publicKey));
    assert.deepEqual(cert.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.equal(cert.ca, false);
    assert.equal(new X509Certificate(ca.caPem).ca, true);
    assert.ok(leaf.keyPem.startsWith("-----BEGIN PRIVATE KEY-----"));
    const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    assert.ok(lifetime <= HOUR, `leaf lifetime ${lifetime} ms`);
  });

  it("gives every leaf a distinct serial and key", async () => {
    const a = await ca.issue("db", "0");
    const b = await ca.issue("db", "0");
    assert.notEqual(a.serial, b.serial);
    assert.notEqual(a.keyPem, b.keyPem);
  });

  const CASES: { name: string; leaf: string; expected?: string; verdict: LeafVerdict }[] = [
    { name: "a valid leaf", leaf: "valid", verdict: { ok: true, spiffeId: "spiffe://topocast/web/0" } },
    {
      name: "a valid leaf with the expected identity",
      leaf: "valid",
      expected: "spiffe://topocast/web/0",
      verdict: { ok: true, spiffeId: "spiffe://topocast/web/0" },
    },
    { name: "an expired leaf", leaf: "expired", verdict: { ok: false, reason: "expired" } },
    { name: "a leaf not yet valid", leaf: "future", verdict: { ok: false, reason: "not-yet-valid" } },
    { name: "a leaf of another run's CA", leaf: "foreign", verdict: { ok: false, reason: "wrong-ca" } },
    { name: "a revoked leaf", leaf: "revoked", verdict: { ok: false, reason: "revoked" } },
    {
      name: "a valid leaf of another identity",
      leaf: "valid",
      expected: "spiffe://topocast/web/9",
      verdict: { ok: false, reason: "wrong-identity" },
    },
  ];
  for (const c of CASES) {
    it(`verifyLeaf: ${c.name} -> ${c.verdict.ok ? "accepted" : c.verdict.reason}`, async () => {
      assert.deepEqual(await verifyLeaf(leaves.get(c.leaf)!.certPem, bundle, c.expected), c.verdict);
    });
  }

  it("verifyLeaf: garbage is malformed", async () => {
    assert.deepEqual(await verifyLeaf("not a certificate", bundle), { ok: false, reason: "malformed" });
  });

  it("lists a revocation only in bundles made after it", async () => {
    const late = await ca.issue("web", "4");
    const earlier = await ca.bundle();
    ca.revoke(late.serial);
    assert.deepEqual(await verifyLeaf(late.certPem, earlier), {
      ok: true,
      spiffeId: "spiffe://topocast/web/4",
    });
    assert.deepEqual(await verifyLeaf(late.certPem, await ca.bundle()), { ok: false, reason: "revoked" });
    assert.ok(ca.revokedSerials().includes(late.serial));
  });

  it("refuses a bundle whose CRL another CA signed", async () => {
    const forged = { caPem: bundle.caPem, crlPem: (await other.bundle()).crlPem };
    await assert.rejects(verifyLeaf(leaves.get("valid")!.certPem, forged), /CRL is not signed by its CA/);
  });

  it("writes a CRL and CA that OpenSSL loads into a TLS context", () => {
    assert.ok(bundle.crlPem.startsWith("-----BEGIN X509 CRL-----"));
    assert.doesNotThrow(() => createSecureContext({ ca: bundle.caPem, crl: bundle.crlPem }));
  });
});

describe("SPIFFE identities", () => {
  it("are spiffe://topocast/<app>/<instance> and parse back", () => {
    assert.equal(spiffeId("web", "0"), "spiffe://topocast/web/0");
    assert.deepEqual(parseSpiffeId("spiffe://topocast/web/0"), {
      app: "web",
      instance: "0",
      id: "spiffe://topocast/web/0",
    });
  });

  const BAD: [string, string][] = [
    ["we/b", "0"],
    ["web", ""],
    ["web", "a,b"],
    ["x".repeat(41), "0"],
  ];
  for (const [app, instance] of BAD) {
    it(`refuse application ${JSON.stringify(app)} instance ${JSON.stringify(instance)}`, () => {
      assert.throws(
        () => spiffeId(app, instance),
        (e: unknown) => e instanceof EmulationError && /must be 1-40/.test(e.message),
      );
    });
  }

  const SANS: [string | undefined, string | undefined][] = [
    ["URI:spiffe://topocast/web/0", "spiffe://topocast/web/0"],
    ["DNS:x, URI:spiffe://topocast/web/0", "spiffe://topocast/web/0"],
    ["URI:spiffe://topocast/web/0, URI:spiffe://topocast/web/1", undefined],
    ["URI:spiffe://evil/web/0", undefined],
    ["URI:https://topocast/web/0", undefined],
    ["DNS:web", undefined],
    [undefined, undefined],
  ];
  for (const [san, id] of SANS) {
    it(`read ${JSON.stringify(san)} as ${id ?? "no identity"}`, () => {
      assert.equal(identityOfSan(san)?.id, id);
    });
  }
});
