import { getOrganizationDetail, searchOrganizations } from "../../store/dashboard-queries.js";
import { formatTime, html } from "../html.js";
import type { PageContext, RenderedPage } from "./context.js";
import { deletedBadge, notFound, searchForm } from "./shared.js";

/** Organizations searched by id or slug; an organization's page with its members. */
export async function organizationsPage(ctx: PageContext): Promise<RenderedPage> {
  const id = ctx.segments[1];
  if (id !== undefined) return organizationPage(ctx, id);
  const q = ctx.query.get("q") ?? "";
  const orgs = await searchOrganizations(ctx.store, q);
  const body = html`<h1>Organizations</h1>
${searchForm(ctx.prefix, "/organizations", q, "id or slug")}
${
  orgs.length === 0
    ? html`<p class="card muted">${q ? "No organization matches." : "No organization synced yet."}</p>`
    : html`<div class="scroll"><table><thead><tr><th>Id</th><th>Name</th><th>Slug</th><th class="hide-sm">Updated</th></tr></thead><tbody>
${orgs.map(
  (
    o,
  ) => html`<tr><td class="mono"><a href="${ctx.prefix}/organizations/${encodeURIComponent(o.id)}">${o.id}</a> ${deletedBadge(o.deleted_at)}</td>
<td>${o.name ?? ""}</td><td>${o.slug ?? ""}</td><td class="hide-sm">${formatTime(o.updated_at)}</td></tr>`,
)}</tbody></table></div>`
}`;
  return { title: "Organizations", section: "/organizations", body };
}

async function organizationPage(ctx: PageContext, id: string): Promise<RenderedPage> {
  const detail = await getOrganizationDetail(ctx.store, id);
  if (!detail) return notFound("/organizations", `No organization ${id} in the mirror.`);
  const { organization: o, members } = detail;
  const body = html`<h1>${o.name ?? o.id} ${deletedBadge(o.deleted_at)}</h1>
<div class="card"><dl><dt>Id</dt><dd class="mono">${o.id}</dd><dt>Slug</dt><dd>${o.slug ?? "—"}</dd>
<dt>Created</dt><dd>${formatTime(o.created_at)}</dd><dt>Updated</dt><dd>${formatTime(o.updated_at)}</dd><dt>Deleted</dt><dd>${formatTime(o.deleted_at)}</dd>
<dt>Deliveries</dt><dd><a href="${ctx.prefix}/deliveries?object_id=${encodeURIComponent(o.id)}">deliveries about this organization</a></dd></dl></div>
<h2>Members (${members.length})</h2>
${
  members.length === 0
    ? html`<p class="muted">No membership synced.</p>`
    : html`<div class="scroll"><table><thead><tr><th>User</th><th>Role</th><th class="hide-sm">Since</th></tr></thead><tbody>
${members.map(
  ({
    membership,
    user,
  }) => html`<tr><td><a href="${ctx.prefix}/users/${encodeURIComponent(membership.user_id ?? "")}">${user ? [user.first_name, user.last_name].filter(Boolean).join(" ") || user.id : membership.user_id}</a>
${user?.primary_email_address ? html`<span class="muted">${user.primary_email_address}</span>` : ""} ${deletedBadge(membership.deleted_at)}</td>
<td>${membership.role ?? ""}</td><td class="hide-sm">${formatTime(membership.created_at)}</td></tr>`,
)}</tbody></table></div>`
}`;
  return { title: o.id, section: "/organizations", body };
}
