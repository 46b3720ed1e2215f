/**
 * Emulation errors. {@link EmulationError} names the command that failed (its argv, or the batch line) and the
 * tool's stderr; {@link UnsupportedInEmulationError} is the ControlPlane's typed refusal for verbs the emulator
 * does not implement yet, so policies can catch it like any other {@link ControlError}.
 */
import { ControlError } from "../models/policies/types.ts";

export class EmulationError extends Error {
  constructor(
    message: string,
    /** The command that failed, when one did. */
    readonly argv?: readonly string[],
    /** The tool's stderr, trimmed. */
    readonly stderr?: string,
  ) {
    super(message);
    this.name = "EmulationError";
  }
}

/** A ControlPlane verb (or option) the emulator does not implement yet. */
export class UnsupportedInEmulationError extends ControlError {
  constructor(verb: string, why = "not supported in emulation yet") {
    super(`${verb}: ${why}`);
  }
}
