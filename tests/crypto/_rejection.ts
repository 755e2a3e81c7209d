import assert from "node:assert/strict";
import { IntegrityError } from "../../src/errors.ts";

/** The {@linkcode IntegrityError} reason `p` rejects with; fails when it resolves or throws another error. */
export async function rejectionReason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof IntegrityError, String(err));
    return err.reason;
  }
  throw new Error("expected a rejection");
}
