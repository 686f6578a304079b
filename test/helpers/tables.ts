import { sql } from "kysely";
import type { ClerkSyncStore } from "../../src/store/store.js";

/** Every row of the mirrored tables, sorted, for comparing two databases. */
export async function snapshot(store: ClerkSyncStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of ["clerk_users", "clerk_user_email_addresses"]) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by id`.execute(
      store.db,
    );
    out[table] = rows;
  }
  return out;
}
