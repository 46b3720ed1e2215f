/**
 * The run CA of the sidecar mesh: one self-signed ECDSA P-256 certificate authority per run (RFC 5280 profile,
 * `@peculiar/x509` over Node's WebCrypto), issuing one short-lived leaf certificate per application instance whose
 * only URI SAN is its SPIFFE ID (identity.ts), for both TLS roles (extended key usage serverAuth and clientAuth).
 *
 * Keys. The CA's private key lives only in this process's memory (non-extractable) and is never written; a leaf's
 * key is exported as PKCS #8 PEM for its sidecar, which the mesh writes under the run's directory with mode 0600
 * (run-files.ts) and removes at teardown.
 *
 * Revocation: a CRL (RFC 5280 section 5), signed by the CA and distributed with the trust bundle ({@link TrustBundle}:
 * CA certificate + CRL). Chosen over an in-memory list of revoked serials because the sidecars hand it to OpenSSL
 * (`tls` `crl` option, which turns on CRL checking for the whole chain), so a revoked certificate fails inside the
 * TLS handshake with the same code path as an expired or foreign one, before any application byte; it is signed,
 * so a sidecar cannot be fed a forged list; and it is the format any other TLS stack would read. A revocation after
 * start reaches running sidecars as a new bundle (sidecar.ts swaps its secure context and closes the connections
 * of revoked peers). Every CRL is valid for {@link CRL_VALIDITY_MS}; the mesh reissues it before then.
 *
 * {@link verifyLeaf} is the same decision outside a handshake (tests, and the reason a refusal is logged with):
 * signature by the run CA, validity window, revocation, identity.
 */
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { EmulationError } from "../errors.ts";
import { identityOfSan, spiffeId } from "./identity.ts";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Default lifetime of a leaf certificate: 1 h (short: a run is shorter, and revocation is the exception). */
export const LEAF_VALIDITY_MS = 3_600_000;
/** Lifetime of the CA certificate: 24 h. */
export const CA_VALIDITY_MS = 86_400_000;
/** Lifetime of a CRL (its nextUpdate): 1 h; OpenSSL refuses a handshake once the CRL has expired. */
export const CRL_VALIDITY_MS = 3_600_000;
/** Certificates and CRLs start this far in the past, so a just-issued one is valid on every clock of the host. */
const BACKDATE_MS = 60_000;

/** What every sidecar of a run trusts: the CA certificate and its current CRL, both PEM. */
export interface TrustBundle {
  caPem: string;
  crlPem: string;
}

/** A leaf certificate and its key, PEM (the key PKCS #8). */
export interface LeafCredentials {
  spiffeId: string;
  /** Serial number, lower-case hex. */
  serial: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface IssueOptions {
  /** @default now - 1 min */
  notBefore?: Date;
  /** @default notBefore + {@link LEAF_VALIDITY_MS} */
  notAfter?: Date;
}

/** Why {@link verifyLeaf} refused a certificate. */
export type LeafRefusal =
  | "malformed"
  | "wrong-ca"
  | "not-yet-valid"
  | "expired"
  | "revoked"
  | "no-identity"
  | "wrong-identity";

export type LeafVerdict = { ok: true; spiffeId: string } | { ok: false; reason: LeafRefusal };

/** A positive serial number of 16 random bytes (RFC 5280 4.1.2.2: at most 20 octets, positive), hex. */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

async function keyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** One run's certificate authority. Create with {@link RunCa.create}. */
export class RunCa {
  private readonly revoked = new Map<string, Date>();

  private constructor(
    readonly runId: string,
    readonly cert: x509.X509Certificate,
    private readonly signingKey: CryptoKey,
  ) {}

  /** A new CA for run `runId` (its name carries the run id), valid for {@link CA_VALIDITY_MS} from now. */
  static async create(runId: string, now = new Date()): Promise<RunCa> {
    const extractable = await keyPair();
    // Re-import the private key as non-extractable: nothing in this process can write it out.
    const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", extractable.privateKey);
    const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, ALG, false, ["sign"]);
    const keys = { privateKey, publicKey: extractable.publicKey };
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: newSerial(),
      name: `CN=topocast run CA ${runId}`,
      notBefore,
      notAfter: new Date(notBefore.getTime() + CA_VALIDITY_MS),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new RunCa(runId, cert, privateKey);
  }

  get caPem(): string {
    return this.cert.toString("pem");
  }

  /** Issues the certificate of instance `instance` of application `app` with a fresh key pair. */
  async issue(app: string, instance: string, opts: IssueOptions = {}): Promise<LeafCredentials> {
    const id = spiffeId(app, instance);
    const keys = await keyPair();
    const notBefore = opts.notBefore ?? new Date(Date.now() - BACKDATE_MS);
    const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + LEAF_VALIDITY_MS);
    if (notAfter <= notBefore)
      throw new EmulationError(`run CA: certificate of ${id}: notAfter must be after notBefore`);
    const serial = newSerial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${app}.${instance}`,
      issuer: this.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: id }], true),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    return {
      spiffeId: id,
      serial,
      certPem: cert.toString("pem"),
      keyPem: await pkcs8Pem(keys.privateKey),
      notAfter,
    };
  }

  /** Revokes a certificate by serial (hex); the next {@link bundle} lists it. */
  revoke(serial: string, at = new Date()): void {
    this.revoked.set(serial.toLowerCase(), at);
  }

  /** Serials revoked so far, sorted. */
  revokedSerials(): string[] {
    return [...this.revoked.keys()].sort();
  }

  /** The trust bundle now: the CA certificate and a freshly signed CRL of every revocation so far. */
  async bundle(now = new Date()): Promise<TrustBundle> {
    const thisUpdate = new Date(now.getTime() - BACKDATE_MS);
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.cert.subject,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + CRL_VALIDITY_MS),
      signingAlgorithm: ALG,
      signingKey: this.signingKey,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.cert)],
      entries: [...this.revoked].map(([serialNumber, revocationDate]) => ({ serialNumber, revocationDate })),
    });
    // RFC 7468 5.2's label "X509 CRL" (the library writes "CRL", which OpenSSL does not read).
    return { caPem: this.caPem, crlPem: x509.PemConverter.encode(crl.rawData, "X509 CRL") };
  }
}

function parseCert(pem: string): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * Verifies a leaf certificate against a run's trust bundle at `now`: issued (signed) by the bundle's CA, inside its
 * validity window, not on the CRL (whose own signature must be the CA's), and carrying exactly one SPIFFE ID,
 * equal to `expected` when given. Checks in that order; the first failure is the reason.
 */
export async function verifyLeaf(
  pem: string,
  bundle: TrustBundle,
  expected?: string,
  now = new Date(),
): Promise<LeafVerdict> {
  const cert = parseCert(pem);
  const ca = parseCert(bundle.caPem);
  if (!cert || !ca) return { ok: false, reason: "malformed" };
  const signedByCa =
    cert.issuer === ca.subject && (await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }));
  if (!signedByCa) return { ok: false, reason: "wrong-ca" };
  if (now < cert.notBefore) return { ok: false, reason: "not-yet-valid" };
  if (now > cert.notAfter) return { ok: false, reason: "expired" };
  const crl = new x509.X509Crl(bundle.crlPem);
  if (!(await crl.verify({ publicKey: ca.publicKey })))
    throw new EmulationError("run CA: the trust bundle's CRL is not signed by its CA");
  if (crl.findRevoked(cert)) return { ok: false, reason: "revoked" };
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san?.names.items.filter((n) => n.type === "url").map((n) => `URI:${n.value}`) ?? [];
  const identity = identityOfSan(uris.join(", "));
  if (!identity) return { ok: false, reason: "no-identity" };
  if (expected !== undefined && identity.id !== expected) return { ok: false, reason: "wrong-identity" };
  return { ok: true, spiffeId: identity.id };
}

/** Serial numbers a CRL lists, lower-case hex without leading zeros (as compared with a peer's certificate). */
export function crlSerials(crlPem: string): string[] {
  return new x509.X509Crl(crlPem).entries.map((e) => normalSerial(e.serialNumber));
}

/** A serial number in one comparable form: lower-case hex without leading zeros. */
export function normalSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}
