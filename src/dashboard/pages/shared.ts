import { html, type SafeHtml } from "../html.js";
import type { RenderedPage } from "./context.js";

/** A search box that GETs `{prefix}{path}?q=`. */
export function searchForm(prefix: string, path: string, q: string, placeholder: string): SafeHtml {
  return html`<form class="filters" method="get" action="${prefix}${path}">
<label>Search<input type="search" name="q" value="${q}" placeholder="${placeholder}"></label><button type="submit">Search</button></form>`;
}

/** "deleted" beside a tombstoned row. */
export function deletedBadge(deletedAt: number | null | undefined): SafeHtml | "" {
  return deletedAt === null || deletedAt === undefined ? "" : html`<span class="badge failed">deleted</span>`;
}

/** A 404 page inside the dashboard. */
export function notFound(section: string, message: string): RenderedPage {
  return { title: "Not found", section, status: 404, body: html`<h1>Not found</h1><p class="card">${message}</p>` };
}
