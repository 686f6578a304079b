import { createHash } from "node:crypto";
import { type HtmlValue, html, SafeHtml } from "./html.js";

/**
 * The one stylesheet, inline (no external asset: the dashboard works offline). The CSP allows it
 * by its hash, so no other inline style and no script at all may run.
 */
const CSS = `
:root{color-scheme:light dark;--fg:#1d2430;--muted:#5d6778;--bg:#f6f7f9;--card:#fff;--line:#dde1e7;--accent:#3b5bdb;
--ok:#2b8a3e;--bad:#c92a2a;--warn:#e67700;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#14171c;--card:#1c2027;--line:#2d333d;--accent:#7d95ff}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;padding:.6rem 1rem;background:var(--card);border-bottom:1px solid var(--line)}
header strong{margin-right:.5rem}nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem;flex:1}
nav a{color:var(--muted);text-decoration:none;padding:.2rem 0}nav a.on{color:var(--fg);border-bottom:2px solid var(--accent)}
main{max-width:1200px;margin:0 auto;padding:1rem}h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
a{color:var(--accent)}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;margin-bottom:1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:.75rem;margin-bottom:1rem}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}
.stat b{display:block;font-size:1.4rem}.stat span{color:var(--muted);font-size:.85rem}
.scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;white-space:nowrap}tr:last-child td{border-bottom:0}
td.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{margin:0;padding:.8rem;overflow:auto;max-height:32rem;white-space:pre-wrap;word-break:break-word}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.8rem;border:1px solid var(--line)}
.applied{color:var(--ok);border-color:var(--ok)}.failed{color:var(--bad);border-color:var(--bad)}.stale,.duplicate,.ignored,.running{color:var(--warn);border-color:var(--warn)}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted);gap:.15rem}
input,select,button{font:inherit;padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg);min-width:0}
button{background:var(--accent);border-color:var(--accent);color:#fff;cursor:pointer}button.link{background:none;border:0;color:var(--muted);padding:0}
.muted{color:var(--muted)}.error{color:var(--bad)}.notice{border-left:4px solid var(--accent)}.pager{display:flex;gap:1rem;margin-top:.8rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
.login{max-width:380px;margin:12vh auto}.login form{display:flex;flex-direction:column;gap:.7rem}
@media (max-width:640px){main{padding:.6rem}th,td{padding:.35rem .4rem}.hide-sm{display:none}dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
`;

/** Ours and constant: the one text that goes into a page unescaped. */
const STYLE = new SafeHtml(CSS);
const CSS_HASH = createHash("sha256").update(CSS).digest("base64");

/**
 * The security headers of every dashboard answer: a CSP that allows only the stylesheet above
 * (no script, no frame, forms posting to this origin only), no framing, no caching of pages that
 * show users' data, no referrer leaving with a delivery id in the URL.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": `default-src 'none'; style-src 'sha256-${CSS_HASH}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` on a form POST,
  // which the CSRF check must refuse. Other sites still get no referrer.
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** The pages in the navigation, by path under the dashboard's prefix. */
const NAV = [
  ["/", "Health"],
  ["/deliveries", "Deliveries"],
  ["/users", "Users"],
  ["/organizations", "Organizations"],
  ["/runs", "Runs"],
] as const;

export interface PageFrame {
  /** The dashboard's public prefix (`/dashboard`). */
  prefix: string;
  title: string;
  /** The nav entry to mark (`/deliveries`); none on the login page. */
  section?: string;
  /** The session's CSRF token, for the sign-out form; absent when signed out. */
  csrf?: string;
}

/** A whole page: head (viewport, the stylesheet), header with navigation, and `body`. */
export function page(frame: PageFrame, body: HtmlValue): SafeHtml {
  const nav =
    frame.csrf === undefined
      ? ""
      : html`<nav>${NAV.map(
          ([path, label]) =>
            html`<a href="${frame.prefix}${path === "/" ? "" : path}"${frame.section === path ? html` class="on" aria-current="page"` : ""}>${label}</a>`,
        )}</nav>
<form method="post" action="${frame.prefix}/logout"><input type="hidden" name="csrf" value="${frame.csrf}"><button class="link" type="submit">Sign out</button></form>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${frame.title} · clerk-sync</title><style>${STYLE}</style></head>
<body><header><strong>clerk-sync</strong>${nav}</header><main>${body}</main></body></html>`;
}
