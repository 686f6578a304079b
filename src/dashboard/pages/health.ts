import { DELIVERY_STATUSES } from "../../core/schema.js";
import { applyLatency } from "../../store/dashboard-queries.js";
import { deliveryCounts } from "../../store/delivery-log.js";
import { formatAge, html } from "../html.js";
import type { PageContext, RenderedPage } from "./context.js";
import { statusBadge } from "./deliveries.js";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const percent = (rate: number | null) => (rate === null ? "—" : `${(rate * 100).toFixed(rate < 0.1 ? 2 : 1)}%`);
const ms = (value: number | null) => (value === null ? "—" : `${value} ms`);
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * The first page: is the sync healthy? Deliveries per status over the last hour and day, the
 * failure rate, the last delivery's age, apply latency, rejections by code.
 */
export async function healthPage(ctx: PageContext): Promise<RenderedPage> {
  const hour = await deliveryCounts(ctx.store, ctx.now - HOUR);
  const day = await deliveryCounts(ctx.store, ctx.now - DAY);
  const latency = await applyLatency(ctx.store.db, ctx.now - DAY);
  const dayTotal = total(day.byStatus);
  const failureRate = dayTotal === 0 ? null : (day.byStatus.failed ?? 0) / dayTotal;
  const age = day.lastReceivedAt === null ? null : ctx.now - day.lastReceivedAt;
  const since = (window: number) => encodeURIComponent(new Date(ctx.now - window).toISOString());
  const rejections = Object.entries(day.rejectionsByCode).sort((a, b) => b[1] - a[1]);
  const body = html`<h1>Health</h1>
<div class="grid">
<div class="stat"><b>${dayTotal}</b><span>deliveries, last 24 h</span></div>
<div class="stat"><b>${total(hour.byStatus)}</b><span>deliveries, last hour</span></div>
<div class="stat"><b class="${(day.byStatus.failed ?? 0) > 0 ? "error" : ""}">${percent(failureRate)}</b><span>failure rate, last 24 h</span></div>
<div class="stat"><b>${age === null ? "none yet" : formatAge(age)}</b><span>since the last delivery</span></div>
<div class="stat"><b>${ms(latency.p50)}</b><span>apply latency p50 (p95 ${ms(latency.p95)})</span></div>
<div class="stat"><b class="${rejections.length > 0 ? "error" : ""}">${total(day.rejectionsByCode)}</b><span>rejected requests, last 24 h</span></div>
</div>
<h2>Deliveries by status</h2>
<div class="scroll"><table><thead><tr><th>Status</th><th>Last hour</th><th>Last 24 h</th></tr></thead><tbody>
${DELIVERY_STATUSES.map(
  (status) => html`<tr><td>${statusBadge(status)}</td>
<td><a href="${ctx.prefix}/deliveries?status=${status}&amp;since=${since(HOUR)}">${hour.byStatus[status] ?? 0}</a></td>
<td><a href="${ctx.prefix}/deliveries?status=${status}&amp;since=${since(DAY)}">${day.byStatus[status] ?? 0}</a></td></tr>`,
)}</tbody></table></div>
<h2>Rejected requests by code, last 24 h</h2>
${
  rejections.length === 0
    ? html`<p class="card muted">None. Requests refused before verification (a bad signature, a stale timestamp, missing headers) are counted here.</p>`
    : html`<div class="scroll"><table><thead><tr><th>Code</th><th>Requests</th></tr></thead><tbody>
${rejections.map(([code, n]) => html`<tr><td><code>${code}</code></td><td>${n}</td></tr>`)}</tbody></table></div>`
}`;
  return { title: "Health", section: "/", body };
}
