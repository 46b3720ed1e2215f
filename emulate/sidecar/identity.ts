/**
 * Workload identities of the sidecar mesh, SPIFFE-style (SPIFFE ID spec: `spiffe://<trust domain>/<path>`): one per
 * application instance, `spiffe://topocast/<app>/<instance>`, carried as the only URI subject alternative name of
 * its certificate (RFC 5280 4.2.1.6). Pure functions; the run CA (ca.ts) issues them, the sidecars (sidecar.ts)
 * read them from their peers' certificates.
 */
import { EmulationError } from "../errors.ts";

/** The trust domain of every identity topocast issues. */
export const TRUST_DOMAIN = "topocast";

/** Characters an application name or instance may hold (no `/`, `,`, `:` or spaces: they delimit SANs and IDs). */
const SEGMENT = /^[A-Za-z0-9._-]{1,40}$/;
const SPIFFE = /^spiffe:\/\/topocast\/([A-Za-z0-9._-]{1,40})\/([A-Za-z0-9._-]{1,40})$/;

/** A parsed identity. */
export interface Identity {
  app: string;
  instance: string;
  /** `spiffe://topocast/<app>/<instance>`. */
  id: string;
}

/** The SPIFFE ID of an application instance; throws EmulationError naming the bad segment. */
export function spiffeId(app: string, instance: string): string {
  for (const [what, v] of [
    ["application", app],
    ["instance", instance],
  ] as const) {
    if (!SEGMENT.test(v))
      throw new EmulationError(
        `sidecar identity: ${what} ${JSON.stringify(v)} must be 1-40 characters of [A-Za-z0-9._-]`,
      );
  }
  return `spiffe://${TRUST_DOMAIN}/${app}/${instance}`;
}

/** Parses a SPIFFE ID of this trust domain, or undefined when `id` is not one. */
export function parseSpiffeId(id: string): Identity | undefined {
  const m = SPIFFE.exec(id);
  return m ? { app: m[1]!, instance: m[2]!, id } : undefined;
}

/**
 * The identity in Node's `subjectaltname` text (`"URI:spiffe://topocast/a/0, DNS:x"`, as in tls's
 * `PeerCertificate` and crypto's `X509Certificate.subjectAltName`): exactly one URI name, a SPIFFE ID of this trust
 * domain; undefined otherwise (none, several, or another scheme), so an ambiguous certificate is never accepted.
 */
export function identityOfSan(san: string | undefined): Identity | undefined {
  if (!san) return undefined;
  const uris = san
    .split(", ")
    .filter((n) => n.startsWith("URI:"))
    .map((n) => n.slice(4));
  return uris.length === 1 ? parseSpiffeId(uris[0]!) : undefined;
}
