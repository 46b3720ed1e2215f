/**
 * The registry domain's errors (models/services/registry.ts). Every message names the resource or the source of
 * the bad value, the field, the value and what is allowed, e.g.
 * `intents[1]: maxLatencyNs: expected a duration such as "10ms", "2.5s" or "5min", got "soon"`.
 */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** A malformed intent (a client's requirement or a resource's promise). */
export class MalformedIntentError extends RegistryError {
  constructor(message: string) {
    super(message);
    this.name = "MalformedIntentError";
  }
}

/** Bad resource id or metadata given to `registerResource`, or a stored record that does not decode. */
export class MalformedResourceError extends RegistryError {
  constructor(message: string) {
    super(message);
    this.name = "MalformedResourceError";
  }
}

/** No record of that resource id in the registry (never registered, or every replica lost). */
export class UnknownResourceError extends RegistryError {
  constructor(
    readonly resourceId: string,
    detail = "",
  ) {
    super(`unknown resource ${JSON.stringify(resourceId)}${detail ? `: ${detail}` : ""}`);
    this.name = "UnknownResourceError";
  }
}

/** The registry could not complete an operation (no reachable DHT node, every store refused, stopped). */
export class RegistryUnavailableError extends RegistryError {
  constructor(message: string) {
    super(message);
    this.name = "RegistryUnavailableError";
  }
}
