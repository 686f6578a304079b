import { listSyncRuns } from "../../store/dashboard-queries.js";
import { formatTime, html } from "../html.js";
import type { PageContext, RenderedPage } from "./context.js";

/** Backfill and reconcile runs (`clerk_sync_runs`), newest first, with their counts per object kind. */
export async function runsPage(ctx: PageContext): Promise<RenderedPage> {
  const runs = await listSyncRuns(ctx.store.db);
  const body = html`<h1>Backfill and reconcile runs</h1>
${
  runs.length === 0
    ? html`<p class="card muted">No run yet. <code>clerk-sync backfill</code> and <code>clerk-sync reconcile</code> record theirs here.</p>`
    : html`<div class="scroll"><table><thead><tr><th>Started</th><th>Kind</th><th>Status</th><th>Objects</th><th>Counts</th><th class="hide-sm">Finished</th><th>Error</th></tr></thead><tbody>
${runs.map(
  (
    run,
  ) => html`<tr><td>${formatTime(run.started_at)}</td><td>${run.kind}</td><td><span class="badge ${run.status === "done" ? "applied" : run.status}">${run.status}</span></td>
<td>${run.objects}${run.current ? html`<br><span class="muted">at ${run.current}</span>` : ""}</td>
<td class="mono">${Object.entries(run.counts).map(
    ([kind, c]) =>
      html`<div>${kind}: ${Object.entries(c)
        .filter(([, n]) => n !== null)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}</div>`,
  )}</td>
<td class="hide-sm">${formatTime(run.finished_at)}</td><td>${run.error_code ? html`<code>${run.error_code}</code> ${run.error_message ?? ""}` : ""}</td></tr>`,
)}</tbody></table></div>`
}`;
  return { title: "Runs", section: "/runs", body };
}
