/**
 * What the Backend API tests (read-through, reconcile) share: the signing secret their
 * receivers use, the three databases they run on, a signed delivery, and a rejection.
 */
import { randomBytes } from "node:crypto";
import { signDelivery } from "../../src/testing/sign.js";
import { mysqlTarget, postgresTarget, type StoreTarget, sqliteFileTarget } from "./databases.js";

/** The webhook signing secret of the test's receivers. */
export const SECRET = `whsec_${randomBytes(24).toString("base64")}`;

/** SQLite (a file), PostgreSQL and MariaDB. Call at the top level of a test file. */
export async function storeTargets(): Promise<StoreTarget[]> {
  return [sqliteFileTarget(), await postgresTarget(), await mysqlTarget()];
}

/** The error `promise` rejects with (fails when it resolves). */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

/** POSTs a delivery of `payload` signed with {@link SECRET} to `url`; answers the status. */
export async function deliver(url: string, payload: string | object): Promise<number> {
  const signed = signDelivery({ secret: SECRET, payload });
  const response = await fetch(url, { method: "POST", headers: signed.headers, body: signed.body as string });
  await response.arrayBuffer();
  return response.status;
}
