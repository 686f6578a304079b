import { getUserDetail, searchUsers } from "../../store/dashboard-queries.js";
import { formatTime, html, prettyJson } from "../html.js";
import type { PageContext, RenderedPage } from "./context.js";
import { deletedBadge, notFound, searchForm } from "./shared.js";

/** Users searched by id, external id, username or email; a user's page with emails and memberships. */
export async function usersPage(ctx: PageContext): Promise<RenderedPage> {
  const id = ctx.segments[1];
  if (id !== undefined) return userPage(ctx, id);
  const q = ctx.query.get("q") ?? "";
  const users = await searchUsers(ctx.store, q);
  const body = html`<h1>Users</h1>
${searchForm(ctx.prefix, "/users", q, "id, email, username or external id")}
${
  users.length === 0
    ? html`<p class="card muted">${q ? "No user matches." : "No user synced yet."}</p>`
    : html`<div class="scroll"><table><thead><tr><th>Id</th><th>Name</th><th>Username</th><th>Email</th><th class="hide-sm">Updated</th></tr></thead><tbody>
${users.map(
  (
    u,
  ) => html`<tr><td class="mono"><a href="${ctx.prefix}/users/${encodeURIComponent(u.id)}">${u.id}</a> ${deletedBadge(u.deleted_at)}</td>
<td>${[u.first_name, u.last_name].filter(Boolean).join(" ")}</td><td>${u.username ?? ""}</td><td>${u.primary_email_address ?? ""}</td>
<td class="hide-sm">${formatTime(u.updated_at)}</td></tr>`,
)}</tbody></table></div>`
}`;
  return { title: "Users", section: "/users", body };
}

async function userPage(ctx: PageContext, id: string): Promise<RenderedPage> {
  const detail = await getUserDetail(ctx.store, id);
  if (!detail) return notFound("/users", `No user ${id} in the mirror.`);
  const { user, emails, organizations } = detail;
  const body = html`<h1>${[user.first_name, user.last_name].filter(Boolean).join(" ") || user.id} ${deletedBadge(user.deleted_at)}</h1>
<div class="card"><dl><dt>Id</dt><dd class="mono">${user.id}</dd><dt>Username</dt><dd>${user.username ?? "—"}</dd>
<dt>External id</dt><dd>${user.external_id ?? "—"}</dd><dt>Created</dt><dd>${formatTime(user.created_at)}</dd>
<dt>Updated</dt><dd>${formatTime(user.updated_at)}</dd><dt>Deleted</dt><dd>${formatTime(user.deleted_at)}</dd>
<dt>Deliveries</dt><dd><a href="${ctx.prefix}/deliveries?object_id=${encodeURIComponent(user.id)}">deliveries about this user</a></dd></dl></div>
<h2>Email addresses</h2>
<div class="scroll"><table><thead><tr><th>Address</th><th>Verification</th><th>Primary</th></tr></thead><tbody>
${emails.map((e) => html`<tr><td>${e.email_address}</td><td>${e.verification_status ?? ""}</td><td>${e.is_primary ? "yes" : ""}</td></tr>`)}
</tbody></table></div>
<h2>Organizations</h2>
${
  organizations.length === 0
    ? html`<p class="muted">No membership.</p>`
    : html`<div class="scroll"><table><thead><tr><th>Organization</th><th>Role</th><th class="hide-sm">Since</th></tr></thead><tbody>
${organizations.map(
  ({
    organization,
    membership,
  }) => html`<tr><td><a href="${ctx.prefix}/organizations/${encodeURIComponent(membership.organization_id ?? "")}">${organization?.name ?? membership.organization_id}</a> ${deletedBadge(membership.deleted_at)}</td>
<td>${membership.role ?? ""}</td><td class="hide-sm">${formatTime(membership.created_at)}</td></tr>`,
)}</tbody></table></div>`
}
<h2>Public metadata</h2><div class="card"><pre>${prettyJson(JSON.stringify(user.public_metadata ?? {}))}</pre></div>`;
  return { title: user.id, section: "/users", body };
}
