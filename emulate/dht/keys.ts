/**
 * Where the emulated registry puts things in the BitTorrent DHT, and the rules that keep it inside the run.
 *
 * - Discovery: a resource's DHT node announces itself (BEP 5 `announce_peer`) under the info hash
 *   SHA-1(serviceKey(service)) for every service it offers; `get_peers` lists the nodes that host instances.
 * - Each node's index (which resource ids it registered, and their services) and each resource's record are BEP 44
 *   mutable items signed with the run's key pair, salt = SHA-1(key string): target = SHA-1(public key + salt). The
 *   sequence number is the record's version (the index's own counter), so the highest version wins at every node
 *   and a stale write is refused (BEP 44 error 302).
 * - The run's key pair is an Ed25519 key derived from the run id (seed = SHA-256("topocast-registry/" + runId)):
 *   every node of the run can sign, so any node may update a record; this is addressing, not security (the
 *   emulation has no adversary).
 * - Bootstrap lists hold nodes of the run only ({@link checkBootstrap}); the library's default public routers are
 *   never used (an undefined `bootstrap` would select them).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { EmulationError } from "../errors.ts";

/** SHA-1 of a string (UTF-8): an info hash, a salt. */
export function sha1(text: string | Buffer): Buffer {
  return createHash("sha1").update(text).digest();
}

/** The DHT key of a node's index of resources. */
export function indexKey(address: string, port: number): string {
  return `topocast/index/${address}:${port}`;
}

/** BEP 44 caps a value at 1000 bytes (bencoded); the registry keeps its JSON under this. */
export const MAX_VALUE_BYTES = 990;

export interface RunKeys {
  /** Raw 32-byte Ed25519 public key (BEP 44's `k`). */
  readonly publicKey: Buffer;
  sign(message: Buffer): Buffer;
  verify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean;
}

function b64url(b: Buffer): string {
  return b.toString("base64url");
}

/** The run's Ed25519 key pair (see the module doc). */
export function runKeys(runId: string): RunKeys {
  const seed = createHash("sha256").update(`topocast-registry/${runId}`).digest();
  // An Ed25519 private key from its 32-byte seed: PKCS#8 DER = a fixed 16-byte prefix + the seed (RFC 8410).
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const priv = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const jwk = createPublicKey(priv).export({ format: "jwk" });
  const publicKey = Buffer.from(jwk.x as string, "base64url");
  const keys = new Map<string, KeyObject>();
  const pubOf = (raw: Buffer): KeyObject => {
    const h = raw.toString("hex");
    let k = keys.get(h);
    if (!k) {
      k = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(raw) }, format: "jwk" });
      keys.set(h, k);
    }
    return k;
  };
  return {
    publicKey,
    sign: (m) => sign(null, m, priv),
    verify: (s, m, k) => {
      try {
        return k.length === 32 && s.length === 64 && verify(null, m, pubOf(k), s);
      } catch {
        return false;
      }
    },
  };
}

/** The BEP 44 target of a mutable item: SHA-1(k + salt). */
export function mutableTarget(publicKey: Buffer, salt: Buffer): Buffer {
  return sha1(Buffer.concat([publicKey, salt]));
}

/** A `host:port` bootstrap entry. */
export interface Peer {
  readonly host: string;
  readonly port: number;
}

/**
 * Refuses a bootstrap list that names anything but the run's own node addresses, or a port out of range.
 * @throws EmulationError naming the entry and the allowed addresses.
 */
export function checkBootstrap(
  bootstrap: readonly Peer[],
  runAddresses: readonly string[],
  where: string,
): void {
  bootstrap.forEach((p, i) => {
    if (!runAddresses.includes(p.host))
      throw new EmulationError(
        `${where}: bootstrap[${i}].host: ${JSON.stringify(p.host)} is not a node of this run; allowed: ${runAddresses.join(", ")}`,
      );
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      throw new EmulationError(`${where}: bootstrap[${i}].port: expected 1..65535, got ${p.port}`);
  });
}
