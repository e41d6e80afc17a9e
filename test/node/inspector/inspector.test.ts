// The inspector page in a real browser: Debian's chromium driven by playwright-core (never a downloaded browser),
// against `wrangler dev` on loopback serving the fixture bundle from a fresh local KV. Checks what a person sees
// against the JSON the page read, for a warm user, a never-seen one, and a warm one beside a config override.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { components } from "../../../client";
import { BundleTables } from "../../../core/serving/bundle-tables";
import { REPO_ROOT, startDevServer, type DevServer } from "../../../scripts/bench/wrangler";
import { loadBundleDirectory } from "../../../scripts/lib/kv-bundle-directory";
import { publishDirectory } from "../../../scripts/lib/kv-publish";
import { fixtureBundleDirectory } from "../../support/fixture-bundle";

type Inspection = components["schemas"]["Inspection"];

/** What the test reads of the page's elements, in functions that run in the page (the Node tsconfig has no DOM types). */
interface PageElement {
  readonly textContent: string | null;
  readonly className: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  getBoundingClientRect(): { readonly top: number };
  readonly scrollWidth: number;
  readonly clientWidth: number;
  readonly ownerDocument: { readonly defaultView: { readonly scrollY: number } | null };
}

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ADMIN_TOKEN = "inspector-test-token";
const ARTIFACTS = join(REPO_ROOT, "test-artifacts");
/** The page's widest layout (its body is at most 1800px wide): the feed table fits whole, its rules column included. */
const VIEWPORT = { width: 1800, height: 1000 } as const;
const LABELS = ["click", "long_view", "like", "comment", "forward", "follow", "hate"] as const;

const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
if (missing) console.warn(`[inspector] skipping the browser test: ${missing}`);

let persistTo: string;
let server: DevServer | undefined;
let browser: Browser | undefined;
let warmUser: string;

beforeAll(async () => {
  if (missing) return;
  const { bundle } = await fixtureBundleDirectory();
  const files = await loadBundleDirectory(bundle);
  const tables = BundleTables.decode(files.manifest, files.files);
  // the user with the longest training history: every stage and every source has something to do
  let longest = -1;
  for (let row = 0; row < tables.users.ids.size; row++) {
    const events = (tables.histories.offsets[row + 1] as number) - (tables.histories.offsets[row] as number);
    if (events > longest) [longest, warmUser] = [events, tables.users.ids.id(row)];
  }
  persistTo = await mkdtemp(join(tmpdir(), "inspector-test-"));
  await publishDirectory(bundle, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
  [server, browser] = await Promise.all([
    startDevServer(persistTo, 90_000, ["--var", `ADMIN_TOKEN:${ADMIN_TOKEN}`]),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
  ]);
  await mkdir(ARTIFACTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (persistTo) await rm(persistTo, { recursive: true, force: true });
});

/** Opens the page, enters the token and the user, submits, and returns what the page read (every /v1/inspect answer). */
async function inspectInPage(userId: string, options: { count?: number; compare?: string } = {}): Promise<{ page: Page; read: Inspection[] }> {
  const page = await (browser as Browser).newPage({ viewport: VIEWPORT });
  await page.goto(`${(server as DevServer).url}/inspect`);
  await expect.poll(() => page.getByRole("heading", { name: "Explore inspector" }).isVisible()).toBe(true);
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByLabel("User id").fill(userId);
  await page.getByLabel("Items").fill(String(options.count ?? 10));
  if (options.compare) await page.getByLabel(/Compare with config override/).fill(options.compare);
  const expected = options.compare ? 2 : 1;
  const read: Inspection[] = [];
  const answers = new Promise<void>((resolve, reject) => {
    page.on("response", (response) => {
      if (!response.url().endsWith("/v1/inspect")) return;
      response.json().then((body: Inspection) => {
        if (response.status() !== 200) return reject(new Error(`/v1/inspect answered ${response.status()}: ${JSON.stringify(body)}`));
        read.push(body);
        if (read.length === expected) resolve();
      }, reject);
    });
  });
  await page.getByRole("button", { name: "Inspect" }).click();
  await answers;
  await page.getByRole("status").filter({ hasText: `Inspected ${userId}` }).waitFor({ timeout: 30_000 });
  return { page, read };
}

/** The numbers a cell shows, as the page formats them (4 significant digits or exponent form). */
function expectShown(text: string, value: number): void {
  const shown = Number(text);
  expect(Number.isFinite(shown), `"${text}" is a number`).toBe(true);
  expect(Math.abs(shown - value)).toBeLessThanOrEqual(Math.abs(value) * 1e-3 + 1e-12);
}

async function cellTexts(page: Page, selector: string): Promise<string[][]> {
  return page.locator(selector).evaluateAll((rows) => (rows as unknown as PageElement[]).map((row) => Array.from(row.querySelectorAll("td, th"), (cell) => (cell.textContent ?? "").trim())));
}

/** What the feed table shows, column by column, in the first (or `column`-th) column of the results. */
async function checkColumn(page: Page, inspection: Inspection, column: number): Promise<void> {
  const scope = `.column:nth-of-type(${column + 1})`;
  // the funnel: every stage with its counts in and out
  const stages = await cellTexts(page, `${scope} .funnel-stage`);
  expect(stages).toHaveLength(inspection.stages.length);
  const funnel = await page.locator(`${scope} .funnel-stage`).evaluateAll((rows) => (rows as unknown as PageElement[]).map((row) => [row.getAttribute("data-stage"), row.querySelector(".count-in")?.textContent, row.querySelector(".count-out")?.textContent]));
  expect(funnel).toEqual(inspection.stages.map((stage) => [stage.stage, String(stage.in), String(stage.out)]));
  expect(inspection.stages.map((stage) => stage.stage)).toEqual(["retrieval", "filters", "first_stage", "second_stage", "rerank"]);

  // the feed: one row per item, with its sources and ranks, first-stage score and every probability
  const rows = await cellTexts(page, `${scope} table.feed tbody tr`);
  expect(rows).toHaveLength(inspection.items.length);
  const headers = await page.locator(`${scope} table.feed thead th`).allTextContents();
  expect(headers.slice(0, 5)).toEqual(["#", "item", "author", "sources", "first stage (rank)"]);
  for (const [i, item] of inspection.items.entries()) {
    const row = rows[i] as string[];
    expect(row.slice(0, 3)).toEqual([String(item.position), item.item_id, item.author_id]);
    for (const hit of item.sources) expect(row[3]).toContain(`${hit.source} #${hit.rank}`);
    if (item.first_stage) expectShown((row[4] as string).replace(/ \(\d+\)$/, ""), item.first_stage.score);
    LABELS.forEach((label, l) => expectShown(row[5 + l] as string, item.p?.[label] as number));
  }

  // the items the first stage cut, with their scores, best first
  const cut = await cellTexts(page, `${scope} table.cut tbody tr`);
  expect(inspection.cut.total).toBeGreaterThan(0);
  expect(cut).toHaveLength(inspection.cut.items.length);
  await expect.poll(() => page.locator(`${scope} table.cut caption`).textContent()).toContain(`of ${inspection.cut.total}`);
  for (const [i, item] of inspection.cut.items.slice(0, 10).entries()) {
    const row = cut[i] as string[];
    expect(row.slice(0, 3)).toEqual([String(item.rank), item.item_id, item.author_id]);
    if (item.first_stage) expectShown(row[4] as string, item.first_stage.score);
  }
  const firstKept = inspection.items.map((item) => item.first_stage?.rank ?? 0);
  expect(Math.min(...inspection.cut.items.map((item) => item.rank))).toBeGreaterThan(inspection.config.first_stage_keep - 1);
  expect(firstKept.every((rank) => rank > 0)).toBe(true);

  // the first item's value-model terms, one bar each
  const first = inspection.items[0];
  const terms = await page.locator(`${scope} .detail .term`).evaluateAll((rows) => (rows as unknown as PageElement[]).map((row) => [row.getAttribute("data-term"), row.querySelector(".term-value")?.textContent, row.querySelector(".term-bar")?.className]));
  expect(terms.map(([name]) => name)).toEqual([...LABELS.map((label) => label.replace("_", " ")), "exposure", "affinity", "sources"]);
  const value = first?.value;
  expect(value).toBeTruthy();
  if (value) {
    for (const [l, label] of LABELS.entries()) {
      const [, shown, bar] = terms[l] as [string, string, string];
      expectShown(shown, value.expected[label] as number);
      expect(bar).toContain((value.expected[label] as number) < 0 ? "negative" : "positive");
    }
  }
}

describe.skipIf(missing !== undefined)("the inspector page in chromium", () => {
  it("shows a warm user's history, funnel, feed with sources and probabilities, the first stage's cut and each term", async () => {
    const { page, read } = await inspectInPage(warmUser);
    const [inspection] = read as [Inspection];
    expect(inspection.cold_start).toBe(false);
    await expect.poll(() => page.locator(".summary .badge").textContent()).toBe("warm");
    const history = await cellTexts(page, "table.history tbody tr");
    expect(history.length).toBe(inspection.user.history.length);
    expect(history.length).toBeGreaterThan(0);
    expect(history[0]?.slice(1, 3)).toEqual([inspection.user.history[0]?.item_id, inspection.user.history[0]?.author_id]);
    expect(inspection.items).toHaveLength(10);
    await checkColumn(page, inspection, 0);
    // selecting another item shows its own terms
    const third = inspection.items[2];
    await page.locator(`tr.feed-row[data-item="${third?.item_id}"]`).click();
    await expect.poll(() => page.locator(".detail h3").textContent()).toBe(`Why item ${third?.item_id} is at 3`);
    // the funnel, the feed and the selected item's terms (docs/inspector.png is a copy of it)
    const top = await page.locator(".column").evaluate((element) => {
      const box = element as unknown as PageElement;
      return box.getBoundingClientRect().top + (box.ownerDocument.defaultView?.scrollY ?? 0);
    });
    // every column of the feed is in view, not behind a horizontal scroll: the screenshot shows the rules that moved an item
    const [scrollWidth, clientWidth] = await page.locator(".column").evaluate((element) => [(element as unknown as PageElement).scrollWidth, (element as unknown as PageElement).clientWidth]);
    expect(scrollWidth, "the feed's width in a column this wide").toBeLessThanOrEqual(clientWidth as number);
    await page.screenshot({ path: join(ARTIFACTS, "inspector.png"), fullPage: true, clip: { x: 0, y: top, width: VIEWPORT.width, height: 1400 } });
    await page.screenshot({ path: join(ARTIFACTS, "inspector-warm.png"), fullPage: true });
    await page.close();
  });

  it("shows a never-seen user as a cold start with no history, fed by the cold-start sources", async () => {
    const { page, read } = await inspectInPage(`inspector-cold-${Date.now()}`);
    const [inspection] = read as [Inspection];
    expect(inspection.cold_start).toBe(true);
    expect(inspection.user.known).toBe(false);
    await expect.poll(() => page.locator(".summary .badge").textContent()).toBe("cold start");
    await expect.poll(() => page.locator(".summary .empty").textContent()).toContain("No engagements");
    expect(inspection.items.length).toBeGreaterThan(0);
    await checkColumn(page, inspection, 0);
    await page.screenshot({ path: join(ARTIFACTS, "inspector-cold.png"), fullPage: true });
    await page.close();
  });

  it("shows the same user beside a config override, each item's move between the two", async () => {
    const { page, read } = await inspectInPage(warmUser, { compare: '{"rerank": {"max_per_author": 1}}' });
    const served = read.find((inspection) => inspection.config.rerank.maxPerAuthor !== 1) as Inspection;
    const override = read.find((inspection) => inspection.config.rerank.maxPerAuthor === 1) as Inspection;
    expect(served).toBeDefined();
    expect(override).toBeDefined();
    await expect.poll(() => page.locator(".column > h2").allTextContents()).toEqual(["Served config", 'With override {"rerank":{"max_per_author":1}}']);
    await checkColumn(page, served, 0);
    await checkColumn(page, override, 1);
    const authors = override.items.map((item) => item.author_id);
    expect(new Set(authors).size).toBe(authors.length);
    // the last column says where each item sits in the other feed
    const moves = (await cellTexts(page, ".column:nth-of-type(2) table.feed tbody tr")).map((row) => row[row.length - 1]);
    const servedAt = new Map(served.items.map((item) => [item.item_id, item.position]));
    override.items.forEach((item, i) => {
      const before = servedAt.get(item.item_id);
      const change = before === undefined ? undefined : before - item.position;
      expect(moves[i]).toBe(change === undefined ? "new" : change > 0 ? `▲${change}` : change < 0 ? `▼${-change}` : "=");
    });
    await page.screenshot({ path: join(ARTIFACTS, "inspector-compare.png"), fullPage: true });
    await page.close();
  });

  it("refuses a wrong token, and says so on the page", async () => {
    const page = await (browser as Browser).newPage();
    await page.goto(`${(server as DevServer).url}/inspect`);
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByLabel("User id").fill(warmUser);
    await page.getByRole("button", { name: "Inspect" }).click();
    await page.getByRole("status").filter({ hasText: "401 unauthorized" }).waitFor({ timeout: 30_000 });
    expect(await page.locator("table.feed").count()).toBe(0);
    await page.close();
  });
});
