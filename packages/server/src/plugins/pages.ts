/**
 * The server's own HTML pages: 404 and 500 for browsers, and the notice shown when the web
 * app has not been built. Self-contained (one same-origin stylesheet, no script), light and
 * dark, so they render under the strict CSP even when the web build is missing.
 */
export const PAGES_CSS_PATH = '/_securechat/pages.css';

export const PAGES_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1c2330; --muted: #5b6677; --accent: #2f6fde; --on-accent: #fff; --border: #dfe3ea; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1319; --card: #171c24; --fg: #e7ebf1; --muted: #9aa5b5; --accent: #7aa7ff; --on-accent: #0f1319; --border: #2a3240; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; padding: 24px; }
main { background: var(--card); border: 1px solid var(--border); border-radius: 16px; padding: 40px 36px; max-width: 440px; width: 100%; text-align: center; }
.code { font-size: 14px; letter-spacing: .12em; text-transform: uppercase; color: var(--muted); margin: 0 0 8px; }
h1 { font-size: 26px; margin: 0 0 12px; }
p { color: var(--muted); margin: 0 0 24px; }
a { display: inline-block; background: var(--accent); color: var(--on-accent); text-decoration: none; padding: 10px 18px; border-radius: 10px; font-weight: 600; }
a:focus-visible { outline: 3px solid var(--fg); outline-offset: 2px; }
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function page(code: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · SecureChat</title>
<link rel="stylesheet" href="${PAGES_CSS_PATH}">
</head>
<body>
<main>
<p class="code">${escapeHtml(code)}</p>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(body)}</p>
<a href="/">Go to SecureChat</a>
</main>
</body>
</html>
`;
}

export const NOT_FOUND_PAGE = page(
  'Error 404',
  'Page not found',
  'There is nothing at this address. It may have moved, or the link may be mistyped.',
);
export const ERROR_PAGE = page(
  'Error 500',
  'Something went wrong',
  'The server could not complete your request. Please try again in a moment.',
);
export const NOT_BUILT_PAGE = page(
  'Setup',
  'The web app is not built',
  'Run “npm run build” (or “npm start”, which builds first) and reload this page.',
);
