import script from "./inspector.browser.js";
import style from "./inspector.browser.css";

/** The page's script and style, served from the Worker itself (no CDN). */
export const INSPECTOR_ASSETS = { script, style } as const;

/**
 * The page holds no data, but it handles the admin token: nothing from elsewhere may run in it, frame it or learn
 * where it was opened from.
 */
export const INSPECTOR_PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
} as const;

export const INSPECTOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>explore-edge-ranker inspector</title>
<link rel="stylesheet" href="/inspect/inspector.css">
<script type="module" src="/inspect/inspector.js"></script>
</head>
<body>
<header>
  <h1>Explore inspector</h1>
  <p class="hint">Why a user's feed is what it is: every stage's counts, each item's sources, scores and rules, and what the first stage cut. Reads <code>POST /v1/inspect</code> with the admin token.</p>
</header>
<form id="inspect-form" autocomplete="off">
  <label>Admin token <input id="token" name="token" type="password" required></label>
  <label>User id <input id="user-id" name="user_id" required></label>
  <label>Items <input id="count" name="count" type="number" min="1" max="100" value="20"></label>
  <label class="wide"><span>Compare with config override (JSON, as <code>weights</code> on <code>/v1/explore</code>; empty for none)</span>
    <textarea id="compare" name="compare" rows="2" placeholder='{"value": {"like": 3}, "rerank": {"max_per_author": 1}}'></textarea>
  </label>
  <button id="inspect" type="submit">Inspect</button>
</form>
<p id="status" role="status"></p>
<main id="results"></main>
</body>
</html>
`;
