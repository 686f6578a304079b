import { type ClerkSyncStore, listOrganizationMembers } from "clerk-sync/store";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML (names and emails come from Clerk's users). */
function h(value: unknown): string {
  return String(value ?? "—").replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function fullName(user: { first_name: string | null; last_name: string | null; username?: string | null }): string {
  return [user.first_name, user.last_name].filter(Boolean).join(" ") || user.username || "—";
}

/** The listing page: live users and organizations (with their members) from the mirrored tables. */
export async function renderListing(store: ClerkSyncStore): Promise<string> {
  const users = await store.db
    .selectFrom("clerk_users")
    .select(["id", "first_name", "last_name", "username", "primary_email_address", "created_at"])
    .where("deleted_at", "is", null)
    .orderBy("created_at", "desc")
    .limit(100)
    .execute();
  const organizations = await store.db
    .selectFrom("clerk_organizations")
    .select(["id", "name", "slug"])
    .where("deleted_at", "is", null)
    .orderBy("created_at", "desc")
    .limit(100)
    .execute();
  const members = await Promise.all(organizations.map((org) => listOrganizationMembers(store, org.id)));

  const userRows = users
    .map(
      (user) =>
        `<tr><td>${h(fullName(user))}</td><td>${h(user.primary_email_address)}</td><td><code>${h(user.id)}</code></td><td>${h(user.created_at ? new Date(Number(user.created_at)).toISOString().slice(0, 10) : null)}</td></tr>`,
    )
    .join("\n");
  const orgRows = organizations
    .map((org, i) => {
      const list = (members[i] ?? [])
        .map(({ membership, user }) => `${user ? fullName(user) : membership.user_id} (${membership.role ?? "member"})`)
        .join(", ");
      return `<tr><td>${h(org.name)}</td><td><code>${h(org.slug)}</code></td><td>${h(list || null)}</td></tr>`;
    })
    .join("\n");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clerk-sync · node:http example</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; color: #18181b; background: #fafafa; }
  main { max-width: 960px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
  table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #e4e4e7; }
  th, td { padding: 0.55rem 0.8rem; text-align: left; border-bottom: 1px solid #e4e4e7; font-size: 0.92rem; }
  th { background: #f4f4f5; }
  .muted { color: #71717a; }
</style>
</head>
<body>
<main>
<h1>Synced from Clerk</h1>
<p class="muted">Users and organizations that <code>clerk-sync</code> wrote to the database from Clerk's webhooks.</p>
<h2>Users (<span data-testid="user-count">${users.length}</span>)</h2>
${
  users.length === 0
    ? '<p class="muted">No users yet. Send some: <code>npx clerk-sync send --scenario signup --url http://localhost:3000/api/webhooks</code></p>'
    : `<table><thead><tr><th>Name</th><th>Email</th><th>Clerk id</th><th>Created</th></tr></thead><tbody>\n${userRows}\n</tbody></table>`
}
<h2>Organizations (<span data-testid="organization-count">${organizations.length}</span>)</h2>
${
  organizations.length === 0
    ? '<p class="muted">No organizations yet.</p>'
    : `<table><thead><tr><th>Name</th><th>Slug</th><th>Members</th></tr></thead><tbody>\n${orgRows}\n</tbody></table>`
}
</main>
</body>
</html>
`;
}
