import { listOrganizationMembers } from "clerk-sync/store";
import { connection } from "next/server";
import { getStore } from "../lib/store";

export default async function Home() {
  // Read the database on every request: nothing here is prerendered at build time.
  await connection();
  const store = await getStore();

  const users = await store.db
    .selectFrom("clerk_users")
    .select(["id", "first_name", "last_name", "username", "primary_email_address", "created_at"])
    .where("deleted_at", "is", null)
    .orderBy("created_at", "desc")
    .limit(100)
    .execute();
  const organizations = await store.db
    .selectFrom("clerk_organizations")
    .select(["id", "name", "slug", "created_at"])
    .where("deleted_at", "is", null)
    .orderBy("created_at", "desc")
    .limit(100)
    .execute();
  const members = await Promise.all(organizations.map((org) => listOrganizationMembers(store, org.id)));
  const deliveries = await store.db
    .selectFrom("clerk_webhook_events")
    .select((eb) => [eb.fn.countAll<number>().as("count"), eb.fn.max("last_received_at").as("last")])
    .executeTakeFirstOrThrow();

  return (
    <main>
      <h1>Synced from Clerk</h1>
      <p className="muted">
        Users and organizations that <code>clerk-sync</code> wrote to the database from Clerk's webhooks.
      </p>
      <ul className="stats">
        <li>
          <strong data-testid="user-count">{users.length}</strong> users
        </li>
        <li>
          <strong data-testid="organization-count">{organizations.length}</strong> organizations
        </li>
        <li>
          <strong>{Number(deliveries.count)}</strong> deliveries
          {deliveries.last ? (
            <span className="muted"> · last {new Date(Number(deliveries.last)).toISOString()}</span>
          ) : null}
        </li>
      </ul>

      <h2>Users</h2>
      {users.length === 0 ? (
        <p className="empty">
          No users yet. Send some:{" "}
          <code>npx clerk-sync send --scenario signup --url http://localhost:3000/api/webhooks</code>
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Clerk id</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id}>
                <td>{[user.first_name, user.last_name].filter(Boolean).join(" ") || user.username || "—"}</td>
                <td>{user.primary_email_address ?? "—"}</td>
                <td>
                  <code>{user.id}</code>
                </td>
                <td>{user.created_at ? new Date(Number(user.created_at)).toISOString().slice(0, 10) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Organizations</h2>
      {organizations.length === 0 ? (
        <p className="empty">No organizations yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Slug</th>
              <th>Members</th>
            </tr>
          </thead>
          <tbody>
            {organizations.map((org, i) => (
              <tr key={org.id}>
                <td>{org.name ?? "—"}</td>
                <td>
                  <code>{org.slug ?? "—"}</code>
                </td>
                <td>
                  {(members[i] ?? [])
                    .map(({ membership, user }) => {
                      const name = user
                        ? [user.first_name, user.last_name].filter(Boolean).join(" ")
                        : membership.user_id;
                      return `${name} (${membership.role ?? "member"})`;
                    })
                    .join(", ") || "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
