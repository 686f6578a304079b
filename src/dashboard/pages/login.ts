import { html, type SafeHtml } from "../html.js";

/**
 * The sign-in form: the token, posted to `{prefix}/login` with where to go next. The form is the
 * only way in; the token is never put in a URL.
 */
export function loginBody(prefix: string, options: { next: string; error?: string }): SafeHtml {
  return html`<div class="login card"><h1>Sign in</h1>
<p class="muted">Enter the dashboard token (<code>CLERK_SYNC_DASHBOARD_TOKEN</code>).</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ""}
<form method="post" action="${prefix}/login">
<input type="hidden" name="next" value="${options.next}">
<label>Token<input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></div>`;
}
