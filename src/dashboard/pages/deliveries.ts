import { ClerkSyncError, isClerkSyncError } from "../../core/errors.js";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../../core/schema.js";
import { rowsTouchedBy } from "../../store/dashboard-queries.js";
import { type DeliveryFilter, getDelivery, listDeliveries } from "../../store/delivery-log.js";
import { formatAge, formatTime, html, prettyJson, type SafeHtml } from "../html.js";
import type { PageContext, RenderedPage } from "./context.js";
import { notFound } from "./shared.js";

/** Rows per page of the deliveries list. */
const PAGE_SIZE = 50;

/** A time filter as typed (`2026-01-31`, `2026-01-31T10:00`, ISO) to ms; undefined when empty. */
function parseTime(name: string, text: string | null): number | undefined {
  if (text === null || text.trim() === "") return undefined;
  const trimmed = text.trim();
  const ms = /^\d+$/.test(trimmed)
    ? Number(trimmed)
    : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(trimmed) ? trimmed : `${trimmed}Z`);
  if (!Number.isFinite(ms)) throw new ClerkSyncError("invalid_filter", `${name}: not a time (${trimmed})`);
  return ms;
}

/** The filter of the query string, checked (a bad one is `invalid_filter`, shown on the page). */
function filterOf(query: URLSearchParams): DeliveryFilter {
  const text = (name: string) => query.get(name)?.trim() || undefined;
  const status = text("status");
  if (status !== undefined && !DELIVERY_STATUSES.includes(status as DeliveryStatus)) {
    throw new ClerkSyncError("invalid_filter", `Unknown status "${status}"`);
  }
  return {
    status: status as DeliveryStatus | undefined,
    type: text("type"),
    objectId: text("object_id"),
    svixId: text("svix_id"),
    since: parseTime("since", query.get("since")),
    until: parseTime("until", query.get("until")),
  };
}

export function statusBadge(status: string): SafeHtml {
  return html`<span class="badge ${status}">${status}</span>`;
}

/** The deliveries list: filters (status, type, object id, svix-id, time), newest first, keyset pages. */
export async function deliveriesPage(ctx: PageContext): Promise<RenderedPage> {
  const id = ctx.segments[1];
  if (id !== undefined) return deliveryPage(ctx, id);
  const q = ctx.query;
  let error: string | undefined;
  let items: Awaited<ReturnType<typeof listDeliveries>>["items"] = [];
  let next: string | undefined;
  try {
    const page = await listDeliveries(ctx.store, filterOf(q), {
      limit: PAGE_SIZE,
      after: q.get("after") || undefined,
    });
    items = page.items;
    next = page.next;
  } catch (e) {
    if (!isClerkSyncError(e, "invalid_filter")) throw e;
    error = e.message;
  }
  const value = (name: string) => q.get(name) ?? "";
  const nextQuery = new URLSearchParams(q);
  if (next) nextQuery.set("after", next);
  const body = html`<h1>Deliveries</h1>
<form class="filters" method="get" action="${ctx.prefix}/deliveries">
<label>Status<select name="status"><option value="">any</option>${DELIVERY_STATUSES.map(
    (s) => html`<option${value("status") === s ? html` selected` : ""}>${s}</option>`,
  )}</select></label>
<label>Type<input name="type" value="${value("type")}" placeholder="user.created" size="16"></label>
<label>Object id<input name="object_id" value="${value("object_id")}" placeholder="user_…" size="18"></label>
<label>svix-id<input name="svix_id" value="${value("svix_id")}" placeholder="msg_…" size="18"></label>
<label>Since (UTC)<input name="since" value="${value("since")}" placeholder="2026-01-31T10:00" size="16"></label>
<label>Until (UTC)<input name="until" value="${value("until")}" placeholder="2026-01-31" size="12"></label>
<button type="submit">Filter</button> <a href="${ctx.prefix}/deliveries">clear</a></form>
${error ? html`<p class="card error" role="alert">${error} <span class="muted">[invalid_filter]</span></p>` : ""}
${
  items.length === 0
    ? html`<p class="card muted">${error ? "" : "No delivery matches."}</p>`
    : html`<div class="scroll"><table><thead><tr><th>Received</th><th>Status</th><th>Type</th><th class="hide-sm">Object</th><th class="hide-sm">Attempts</th><th>Delivery</th></tr></thead><tbody>
${items.map(
  (
    d,
  ) => html`<tr><td>${formatTime(d.firstReceivedAt)}<br><span class="muted">${formatAge(ctx.now - d.firstReceivedAt)} ago</span></td>
<td>${statusBadge(d.status)}${d.errorCode ? html`<br><code>${d.errorCode}</code>` : ""}</td><td>${d.type}</td>
<td class="mono hide-sm">${d.objectId ?? ""}</td><td class="hide-sm">${d.deliveryCount}</td>
<td class="mono"><a href="${ctx.prefix}/deliveries/${encodeURIComponent(d.svixId)}">${d.svixId}</a></td></tr>`,
)}</tbody></table></div>`
}
<div class="pager">${q.get("after") ? html`<a href="${ctx.prefix}/deliveries?${withoutCursor(q)}">newest</a>` : ""}
${next ? html`<a rel="next" href="${ctx.prefix}/deliveries?${nextQuery.toString()}">older →</a>` : ""}</div>`;
  return { title: "Deliveries", section: "/deliveries", body, ...(error ? { status: 400 } : {}) };
}

function withoutCursor(q: URLSearchParams): string {
  const copy = new URLSearchParams(q);
  copy.delete("after");
  return copy.toString();
}

/** One delivery: its row, pretty payload, attempts, the rows it touched, and the replay button. */
async function deliveryPage(ctx: PageContext, svixId: string): Promise<RenderedPage> {
  const d = await getDelivery(ctx.store, svixId);
  if (!d) return notFound("/deliveries", `No delivery ${svixId}.`);
  const touched = d.payload === null ? [] : await rowsTouchedBy(ctx.store, d.payload);
  const replayed = ctx.query.get("replayed");
  const replayedError = ctx.query.get("error_code");
  const body = html`<h1>Delivery <code>${d.svixId}</code></h1>
${replayed ? html`<p class="card notice" role="status">Replayed: ${statusBadge(replayed)}${replayedError ? html` <code>${replayedError}</code>` : ""}</p>` : ""}
<div class="card"><dl>
<dt>Status</dt><dd>${statusBadge(d.status)} <span class="muted">last outcome ${d.lastOutcome}</span></dd>
<dt>Type</dt><dd>${d.type}</dd><dt>Object</dt><dd class="mono">${d.objectType ?? ""} ${d.objectId ?? ""}</dd>
<dt>Event time</dt><dd>${formatTime(d.eventTimestamp)}</dd><dt>First received</dt><dd>${formatTime(d.firstReceivedAt)}</dd>
<dt>Last received</dt><dd>${formatTime(d.lastReceivedAt)}</dd><dt>Deliveries</dt><dd>${d.deliveryCount}</dd>
${d.errorCode ? html`<dt>Error</dt><dd><code>${d.errorCode}</code> ${d.errorMessage ?? ""}</dd>` : ""}
</dl>
${replayForm(ctx, d.svixId, d.status, d.payload !== null)}</div>
<h2>Attempts</h2>
${
  d.attempts.length === 0
    ? html`<p class="muted">No attempt recorded.</p>`
    : html`<div class="scroll"><table><thead><tr><th>#</th><th>At</th><th>Source</th><th>Outcome</th><th>HTTP</th><th>Apply</th><th>Error</th></tr></thead><tbody>
${d.attempts.map(
  (
    a,
  ) => html`<tr><td>${a.attempt}</td><td>${formatTime(a.receivedAt)}</td><td>${a.source}</td><td>${statusBadge(a.outcome)}</td>
<td>${a.httpStatus ?? "—"}</td><td>${a.durationMs === null ? "—" : `${a.durationMs} ms`}</td>
<td>${a.errorCode ? html`<code>${a.errorCode}</code> ${a.errorMessage ?? ""}` : ""}</td></tr>`,
)}</tbody></table></div>`
}
<h2>Rows it touched</h2>
${
  touched.length === 0
    ? html`<p class="muted">None (a type clerk-sync keeps no table for, or the payload is gone).</p>`
    : touched.map(
        (
          t,
        ) => html`<div class="card"><b>${t.table}</b> <code>${t.id}</code> ${t.row === null ? html`<span class="muted">no row</span>` : ""}
${t.row ? html`<pre>${JSON.stringify({ ...t.row, data: undefined }, null, 2)}</pre>` : ""}</div>`,
      )
}
<h2>Payload</h2>
<div class="card">${d.payload === null ? html`<p class="muted">Removed by retention at ${formatTime(d.payloadPrunedAt)}.</p>` : html`<pre>${prettyJson(d.payload)}</pre>`}</div>`;
  return { title: d.svixId, section: "/deliveries", body };
}

function replayForm(ctx: PageContext, svixId: string, status: string, hasPayload: boolean): SafeHtml | "" {
  if (!ctx.canReplay)
    return html`<p class="muted">Replay: not available here (no receiver given to the dashboard).</p>`;
  if (!hasPayload) return "";
  const label = status === "failed" ? "Replay" : "Replay (no-op: already processed)";
  return html`<form method="post" action="${ctx.prefix}/deliveries/${encodeURIComponent(svixId)}/replay">
<input type="hidden" name="csrf" value="${ctx.csrf}"><button type="submit">${label}</button></form>`;
}
