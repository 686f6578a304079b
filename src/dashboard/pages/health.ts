import { DELIVERY_STATUSES } from "../../core/schema.js";
import { deliveryHealth } from "../../store/dashboard-queries.js";
import { formatAge, html } from "../html.js";
import type { PageContext, RenderedPage } from "./context.js";

const percent = (rate: number | null) => (rate === null ? "—" : `${(rate * 100).toFixed(rate < 0.1 ? 2 : 1)}%`);

/** The first page: is the sync healthy? Deliveries per status, failure rate, last delivery's age. */
export async function healthPage(ctx: PageContext): Promise<RenderedPage> {
  const health = await deliveryHealth(ctx.store.db, ctx.now);
  const age = health.lastReceivedAt === null ? null : ctx.now - health.lastReceivedAt;
  const statusLink = (status: string, since: number) =>
    `${ctx.prefix}/deliveries?status=${status}&since=${encodeURIComponent(new Date(ctx.now - since).toISOString())}`;
  const body = html`<h1>Health</h1>
<div class="grid">
<div class="stat"><b>${health.lastDay.total}</b><span>deliveries, last 24 h</span></div>
<div class="stat"><b>${health.lastHour.total}</b><span>deliveries, last hour</span></div>
<div class="stat"><b class="${health.lastDay.failed > 0 ? "error" : ""}">${percent(health.failureRate)}</b><span>failure rate, last 24 h</span></div>
<div class="stat"><b>${age === null ? "none yet" : formatAge(age)}</b><span>since the last delivery</span></div>
</div>
<h2>Deliveries by status</h2>
<div class="scroll"><table><thead><tr><th>Status</th><th>Last hour</th><th>Last 24 h</th></tr></thead><tbody>
${DELIVERY_STATUSES.map(
  (status) => html`<tr><td><span class="badge ${status}">${status}</span></td>
<td><a href="${statusLink(status, 3_600_000)}">${health.lastHour[status]}</a></td>
<td><a href="${statusLink(status, 86_400_000)}">${health.lastDay[status]}</a></td></tr>`,
)}</tbody></table></div>`;
  return { title: "Health", section: "/", body };
}
