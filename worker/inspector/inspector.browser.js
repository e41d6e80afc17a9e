// @ts-check
// The inspector page's script, served as written (no build step); type-checked against the HTTP contract's generated
// types by worker/inspector/tsconfig.json. Everything it shows comes from POST /v1/inspect with the admin token.

/** @typedef {import("../../client/openapi-types").components["schemas"]["Inspection"]} Inspection */
/** @typedef {import("../../client/openapi-types").components["schemas"]["InspectRequest"]} InspectRequest */
/** @typedef {Inspection["items"][number]} Item */
/** @typedef {Inspection["cut"]["items"][number]} CutItem */
/** @typedef {Item["sources"][number]} SourceHit */
/** @typedef {{ title: string, inspection: Inspection }} Column */

// sessionStorage: the token outlives a reload but not the tab
const TOKEN_KEY = "explore-inspector.admin-token";
/** How many recent engagements to show: enough to see what the user is into, few enough to keep the feed in view. */
const HISTORY = 10;
/** How many of the first stage's cut items to list (the caption says how many it cut in all). */
const CUT = 50;
const LABELS = /** @type {const} */ (["click", "long_view", "like", "comment", "forward", "follow", "hate"]);
const RULE_NAMES = {
  integrity_downrank: "integrity downrank",
  max_per_author: "max per author",
  no_adjacent_same_author: "no two of one author in a row",
  exploration_tail: "exploration tail",
  exclude_requested: "excluded by the caller",
  drop_seen: "already seen",
  min_integrity: "under the integrity threshold",
};

/**
 * An element with text children only: ids and notes come from the data, so nothing is ever parsed as HTML.
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {(Node | string | number | null | undefined)[]} children
 * @returns {HTMLElement}
 */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined) element.append(typeof child === "number" ? String(child) : child);
  return element;
}

/** @param {string} id @returns {HTMLElement} */
function required(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

/** Four significant digits, and small numbers in exponent form, so that scores of any size stay readable. @param {number} value */
function num(value) {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e5 ? String(Number(value.toPrecision(4))) : value.toExponential(3);
}

/** @param {number | undefined} value */
function optional(value) {
  return value === undefined ? "—" : num(value);
}

/** @param {string} text */
function ruleName(text) {
  return /** @type {Record<string, string>} */ (RULE_NAMES)[text] ?? text.replaceAll("_", " ");
}

/** @param {readonly SourceHit[]} sources */
function sourceChips(sources) {
  return h("span", { class: "chips" }, ...sources.map((hit) => h("span", { class: "chip", title: `score ${num(hit.score)}` }, `${hit.source} #${hit.rank}`)));
}

/**
 * @param {string} caption
 * @param {string[]} headers
 * @param {HTMLElement[]} rows
 * @param {string} [className]
 */
function table(caption, headers, rows, className = "") {
  return h("table", { class: className }, h("caption", {}, caption), h("thead", {}, h("tr", {}, ...headers.map((header) => h("th", { scope: "col" }, header)))), h("tbody", {}, ...rows));
}

/** @param {Inspection} inspection */
function userSummary(inspection) {
  const { user } = inspection;
  const facts = [
    ["user", inspection.user_id],
    ["bundle", inspection.model_version],
    ["known to the bundle", user.known ? "yes" : "no"],
    ["engaged items", user.engaged_items],
    ["real-time events", user.realtime_events],
    ["seen items", user.seen_items],
    ["followed authors", user.followed_authors],
  ];
  return h(
    "section",
    { class: "summary", "aria-label": "User" },
    h("h2", {}, `User ${inspection.user_id} `, h("span", { class: inspection.cold_start ? "badge cold" : "badge warm" }, inspection.cold_start ? "cold start" : "warm")),
    h("dl", {}, ...facts.flatMap(([term, value]) => [h("dt", {}, String(term)), h("dd", {}, String(value))])),
    historyTable(inspection),
  );
}

/** @param {Inspection} inspection */
function historyTable(inspection) {
  const { history } = inspection.user;
  if (history.length === 0) return h("p", { class: "empty" }, "No engagements: the bundle has no history for this user and the Worker has received no events.");
  return table(
    "Recent history (newest first)",
    ["when", "item", "author", "labels", "surface", "from"],
    history.map((entry) => h("tr", {}, h("td", {}, entry.at.replace("T", " ").replace(/\.\d+Z$/, "Z")), h("td", {}, entry.item_id), h("td", {}, entry.author_id), h("td", {}, entry.labels.join(", ")), h("td", {}, entry.surface), h("td", {}, entry.origin))),
    "history",
  );
}

/** A bar per stage, its width by the square root of the count (the funnel narrows by orders of magnitude). @param {Inspection} inspection */
function funnel(inspection) {
  const largest = Math.max(1, ...inspection.stages.map((stage) => Math.max(stage.in, stage.out)));
  const rows = inspection.stages.map((stage) => {
    const bar = h("div", { class: "funnel-bar" });
    bar.style.width = `${Math.max(1, (100 * Math.sqrt(stage.out)) / Math.sqrt(largest))}%`;
    return h(
      "li",
      { class: "funnel-stage", "data-stage": stage.stage },
      h("span", { class: "funnel-name" }, stage.stage.replaceAll("_", " ")),
      h("span", { class: "funnel-track" }, bar),
      h("span", { class: "funnel-counts" }, h("span", { class: "count-in" }, stage.in), " → ", h("span", { class: "count-out" }, stage.out)),
      h("span", { class: "funnel-ms" }, `${num(stage.ms)} ms`),
    );
  });
  return h("figure", { class: "funnel", "aria-label": "Funnel" }, h("figcaption", {}, "Funnel: candidates in → out per stage, and its time"), h("ol", {}, ...rows));
}

/** @param {Inspection} inspection */
function sourcesTable(inspection) {
  const rows = Object.entries(inspection.sources).map(([name, source]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", { class: "n" }, source.candidates), h("td", { class: "n" }, num(source.ms)), h("td", {}, source.note ?? "")));
  const rules = inspection.rules.map((rule) => h("tr", {}, h("th", { scope: "row" }, ruleName(rule.rule)), h("td", { class: "n" }, rule.removed ?? ""), h("td", { class: "n" }, rule.moved ?? "")));
  return h("div", { class: "pair" }, table("Sources", ["source", "candidates", "ms", "note"], rows), table("Rules", ["rule", "removed", "moved"], rules));
}

/** @param {Item} item */
function ruleBadges(item) {
  return h(
    "span",
    { class: "chips" },
    ...item.rules.map((effect) => {
      if ("positions" in effect) return h("span", { class: "chip rule" }, `${ruleName(effect.rule)} (passed over at ${effect.positions.slice(0, 3).join(", ")}${effect.positions.length > 3 ? ", …" : ""})`);
      if (effect.rule === "integrity_downrank") return h("span", { class: "chip rule" }, `${ruleName(effect.rule)} ${effect.from} → ${effect.to}`);
      return h("span", { class: "chip rule" }, ruleName(effect.rule));
    }),
  );
}

/**
 * @param {Item} item
 * @param {Map<string, number> | undefined} otherPositions
 */
function positionChange(item, otherPositions) {
  if (!otherPositions) return null;
  const other = otherPositions.get(item.item_id);
  if (other === undefined) return h("td", { class: "delta new" }, "new");
  const change = other - item.position;
  return h("td", { class: change > 0 ? "delta up" : change < 0 ? "delta down" : "delta" }, change > 0 ? `▲${change}` : change < 0 ? `▼${-change}` : "=");
}

/**
 * @param {Inspection} inspection
 * @param {Map<string, number> | undefined} otherPositions
 * @param {(item: Item) => void} select
 */
function feedTable(inspection, otherPositions, select) {
  const headers = ["#", "item", "author", "sources", "first stage (rank)", ...LABELS.map((label) => `P(${label.replace("_", " ")})`), "value", "score", "rules", ...(otherPositions ? ["vs other"] : [])];
  const rows = inspection.items.map((item) => {
    const row = h(
      "tr",
      { class: "feed-row", tabindex: "0", "data-item": item.item_id },
      h("td", { class: "n" }, item.position),
      h("td", {}, item.item_id),
      h("td", {}, item.author_id),
      h("td", {}, sourceChips(item.sources)),
      h("td", { class: "n" }, item.first_stage ? `${num(item.first_stage.score)} (${item.first_stage.rank})` : "—"),
      ...LABELS.map((label) => h("td", { class: label === "hate" ? "n p hate" : "n p" }, optional(item.p?.[label]))),
      h("td", { class: "n" }, item.value ? num(item.value.value) : "—"),
      h("td", { class: "n" }, num(item.score)),
      h("td", { class: "rules" }, ruleBadges(item)),
      positionChange(item, otherPositions),
    );
    row.addEventListener("click", () => select(item));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") select(item);
    });
    return row;
  });
  return table(`Feed (${inspection.items.length} items)`, headers, rows, "feed");
}

/**
 * Two-sided bars on one scale: negative terms grow left of the axis, positive ones right.
 * @param {string} caption
 * @param {[string, number][]} terms
 */
function termBars(caption, terms) {
  const scale = Math.max(1e-12, ...terms.map(([, value]) => Math.abs(value)));
  return h(
    "figure",
    { class: "terms" },
    h("figcaption", {}, caption),
    ...terms.map(([name, value]) => {
      const bar = h("span", { class: value < 0 ? "term-bar negative" : "term-bar positive" });
      bar.style.width = `${(50 * Math.abs(value)) / scale}%`;
      return h("div", { class: "term", "data-term": name }, h("span", { class: "term-name" }, name), h("span", { class: "term-track" }, bar), h("span", { class: "term-value" }, num(value)));
    }),
  );
}

/** @param {Item} item */
function itemDetail(item) {
  const parts = [h("h3", {}, `Why item ${item.item_id} is at ${item.position}`)];
  const { value } = item;
  if (value) {
    parts.push(termBars("Expected value: w · P(task)", LABELS.map((label) => [label.replace("_", " "), value.expected[label] ?? 0])));
    parts.push(termBars("Log prior: how likely the item reaches this user", [["exposure", value.log_prior.exposure], ["affinity", value.log_prior.affinity], ["sources", value.log_prior.sources]]));
    parts.push(
      h(
        "p",
        { class: "equation" },
        `EV ${num(value.expected_value)} × prior ${num(value.prior)} = value ${num(value.value)}; × integrity ${num(value.integrity_factor)} = score ${num(value.score)}`,
        item.tail_value === null ? "" : `; under the exploration tail's prior ${num(item.tail_value)}`,
      ),
    );
  } else {
    parts.push(h("p", { class: "empty" }, "No MTML scored this item: the second stage ran without its model."));
  }
  parts.push(
    h(
      "p",
      {},
      `Rank by value ${item.value_rank}, by score ${item.score_rank}, first stage ${item.first_stage ? `${item.first_stage.rank} (estimate ${num(item.first_stage.estimate)})` : "—"}, retrieval score ${num(item.retrieval_score)}. `,
      item.rules.length === 0 ? "No rule moved it." : ruleBadges(item),
    ),
  );
  return h("section", { class: "detail", "aria-label": "Item detail" }, ...parts);
}

/** @param {Inspection} inspection */
function cutTable(inspection) {
  const { cut } = inspection;
  const rows = cut.items.map((item) =>
    h("tr", {}, h("td", { class: "n" }, item.rank), h("td", {}, item.item_id), h("td", {}, item.author_id), h("td", {}, sourceChips(item.sources)), h("td", { class: "n" }, item.first_stage ? num(item.first_stage.score) : "—"), h("td", { class: "n" }, item.first_stage ? num(item.first_stage.estimate) : "—"), h("td", { class: "n" }, num(item.retrieval_score))),
  );
  return table(`Cut by the first stage (${cut.items.length} of ${cut.total}, best first)`, ["rank", "item", "author", "sources", "first-stage score", "estimate", "retrieval score"], rows, "cut");
}

/** @param {Inspection} inspection */
function droppedTable(inspection) {
  const { dropped } = inspection;
  const rows = dropped.items.map((item) => h("tr", {}, h("td", {}, item.item_id), h("td", {}, item.author_id), h("td", {}, item.stage), h("td", {}, ruleName(item.rule)), h("td", {}, sourceChips(item.sources))));
  return table(`Dropped by a rule (${dropped.items.length} of ${dropped.total})`, ["item", "author", "stage", "rule", "sources"], rows, "dropped");
}

/**
 * @param {Column} column
 * @param {Column | undefined} other
 */
function columnView(column, other) {
  const { inspection } = column;
  const otherPositions = other ? new Map(other.inspection.items.map((item) => [item.item_id, item.position])) : undefined;
  const detail = h("div", { class: "detail-slot" });
  /** @param {Item} item */
  const select = (item) => {
    detail.replaceChildren(itemDetail(item));
    for (const row of section.querySelectorAll("tr.feed-row")) row.classList.toggle("selected", row.getAttribute("data-item") === item.item_id);
  };
  const section = h(
    "section",
    { class: "column", "aria-label": column.title },
    h("h2", {}, column.title),
    inspection.degraded ? h("p", { class: "degraded" }, `Degraded: ${inspection.degraded_reasons.join("; ")}`) : null,
    h("div", { class: "overview" }, funnel(inspection), sourcesTable(inspection)),
    feedTable(inspection, otherPositions, select),
    detail,
    cutTable(inspection),
    droppedTable(inspection),
  );
  const first = inspection.items[0];
  if (first) select(first);
  return section;
}

/**
 * @param {string} token
 * @param {InspectRequest} body
 * @returns {Promise<Inspection>}
 */
async function inspect(token, body) {
  const response = await fetch("/v1/inspect", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) {
    const error = /** @type {{ error?: { code?: string, message?: string } }} */ (json).error;
    throw new Error(`${response.status} ${error?.code ?? "error"}: ${error?.message ?? response.statusText}`);
  }
  return /** @type {Inspection} */ (json);
}

/** @param {string} text */
function parseOverride(text) {
  if (text.trim() === "") return undefined;
  try {
    return /** @type {InspectRequest["weights"]} */ (JSON.parse(text));
  } catch (error) {
    throw new Error(`the config override is not JSON: ${/** @type {Error} */ (error).message}`);
  }
}

async function onSubmit(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const status = required("status");
  const results = required("results");
  const token = /** @type {HTMLInputElement} */ (required("token")).value;
  const userId = /** @type {HTMLInputElement} */ (required("user-id")).value.trim();
  const count = Number(/** @type {HTMLInputElement} */ (required("count")).value) || 20;
  sessionStorage.setItem(TOKEN_KEY, token);
  status.textContent = `Inspecting ${userId}…`;
  status.className = "";
  try {
    const weights = parseOverride(/** @type {HTMLTextAreaElement} */ (required("compare")).value);
    const [served, compared] = await Promise.all([inspect(token, { user_id: userId, count, history_limit: HISTORY, cut_limit: CUT }), weights ? inspect(token, { user_id: userId, count, weights, history_limit: 0, cut_limit: CUT }) : undefined]);
    /** @type {Column[]} */
    const columns = [{ title: "Served config", inspection: served }];
    if (compared && weights) columns.push({ title: `With override ${JSON.stringify(weights)}`, inspection: compared });
    results.replaceChildren(userSummary(served), h("div", { class: columns.length > 1 ? "columns two" : "columns" }, ...columns.map((column, i) => columnView(column, columns[1 - i]))));
    status.textContent = `Inspected ${userId}: ${served.items.length} items, bundle ${served.model_version}.`;
  } catch (error) {
    results.replaceChildren();
    status.textContent = /** @type {Error} */ (error).message;
    status.className = "error";
  }
}

const form = /** @type {HTMLFormElement} */ (required("inspect-form"));
/** @type {HTMLInputElement} */ (required("token")).value = sessionStorage.getItem(TOKEN_KEY) ?? "";
form.addEventListener("submit", (event) => void onSubmit(event));
