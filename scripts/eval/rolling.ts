/**
 * Rolling-origin evaluation: for each window, a bundle trained (and tuned by its own pipeline) through day D,
 * measured on the days after it. The summary keeps what the quality bars read, per window and on average.
 */
import type { EvaluationReport } from "../../core/eval/harness";
import type { Label } from "../../core/data/labels";

/** The windows of the shipped data the rolling evaluation uses by default: training through D, testing D+1..D+2. */
export const DEFAULT_ROLLING_WINDOWS = ["20220430", "20220502", "20220504"] as const;
export const DEFAULT_TEST_DAYS = 2;

/** What every window must reach (issue: "a feed that holds up on days nobody tuned it on"). */
export const ROLLING_BARS = {
  /** explore NDCG@10 (click) over decayed popularity's, on every window… */
  feedOverPopularity: 1.05,
  /** …and on average over the windows. */
  meanFeedOverPopularity: 1.15,
  /** explore NDCG@10 over its own retrieval order's. */
  feedOverRetrieval: 1,
  /** explore_retrieval Recall@1000 (click) over popularity's. */
  retrievalRecallOverPopularity: 1.05,
  coverage: 0.3,
  personalisation: 0.85,
  /** explore_score GAUC minus item rate's, per label. */
  gaucOverItemRate: { click: 0.02, long_view: 0, like: 0 } as Readonly<Partial<Record<Label, number>>>,
  /** Suggested Posts' click recall at page size 20 over restricted popularity's; and at the list's length. */
  suggestedPageOverPopularity: 1,
  suggestedListOverPopularity: 1,
} as const;

export interface WindowSummary {
  readonly train_end: string;
  readonly test_start: string;
  readonly test_end: string;
  readonly bundle: string;
  readonly popularity_ndcg10: number;
  readonly explore_ndcg10: number;
  readonly retrieval_ndcg10: number;
  readonly feed_over_popularity: number;
  readonly feed_over_retrieval: number;
  readonly retrieval_recall1000_over_popularity: number;
  readonly coverage: number;
  readonly personalisation: number;
  /** explore_score GAUC minus item rate's, per label (follow reported, not barred). */
  readonly gauc_over_item_rate: Readonly<Partial<Record<Label, number>>>;
  readonly suggested_recall20: number;
  readonly popularity_recall20: number;
  readonly suggested_recall_list: number;
  readonly popularity_recall_list: number;
}

const REPORTED_GAUC_LABELS: readonly Label[] = ["click", "long_view", "like", "follow"];

export function summariseWindow(report: EvaluationReport, bundle: string): WindowSummary {
  const catalogue = (system: string) => {
    const click = report.full_catalogue[system]?.click;
    if (!click) throw new Error(`the report has no full-catalogue click measures for ${system}`);
    return click;
  };
  const popularity = catalogue("popularity");
  const explore = catalogue("explore");
  const retrieval = catalogue("explore_retrieval");
  const gauc = (system: string, label: Label) => report.impressions[system]?.[label]?.gauc ?? Number.NaN;
  const measure = (name: string) => report.measures[name] ?? Number.NaN;
  return {
    train_end: report.split.train_end,
    test_start: report.split.test_start,
    test_end: report.split.test_end,
    bundle,
    popularity_ndcg10: popularity["ndcg@10"],
    explore_ndcg10: explore["ndcg@10"],
    retrieval_ndcg10: retrieval["ndcg@10"],
    feed_over_popularity: explore["ndcg@10"] / popularity["ndcg@10"],
    feed_over_retrieval: explore["ndcg@10"] / retrieval["ndcg@10"],
    retrieval_recall1000_over_popularity: retrieval["recall@1000"] / popularity["recall@1000"],
    coverage: report.full_catalogue.explore?.coverage ?? Number.NaN,
    personalisation: report.full_catalogue.explore?.["personalisation@10"] ?? Number.NaN,
    gauc_over_item_rate: Object.fromEntries(REPORTED_GAUC_LABELS.map((label) => [label, gauc("explore_score", label) - gauc("item_rate", label)])),
    suggested_recall20: measure("suggested_unfollowed_recall@20_click"),
    popularity_recall20: measure("popularity_unfollowed_recall@20_click"),
    suggested_recall_list: measure("suggested_unfollowed_recall@list_click"),
    popularity_recall_list: measure("popularity_unfollowed_recall@list_click"),
  };
}

/** Every bar a set of windows misses, as readable lines (empty: all hold). */
export function barFailures(windows: readonly WindowSummary[]): string[] {
  const failures: string[] = [];
  const check = (ok: boolean, line: string) => {
    if (!ok) failures.push(line);
  };
  for (const w of windows) {
    const at = `train ..${w.train_end}`;
    check(w.feed_over_popularity >= ROLLING_BARS.feedOverPopularity, `${at}: explore NDCG@10 ${fmt(w.feed_over_popularity, 3)}× popularity < ${ROLLING_BARS.feedOverPopularity}`);
    check(w.feed_over_retrieval >= ROLLING_BARS.feedOverRetrieval, `${at}: explore NDCG@10 ${fmt(w.feed_over_retrieval, 3)}× its retrieval order's < 1`);
    check(w.retrieval_recall1000_over_popularity >= ROLLING_BARS.retrievalRecallOverPopularity, `${at}: explore_retrieval R@1000 ${fmt(w.retrieval_recall1000_over_popularity, 3)}× popularity < ${ROLLING_BARS.retrievalRecallOverPopularity}`);
    check(w.coverage >= ROLLING_BARS.coverage, `${at}: explore coverage@100 ${fmt(w.coverage, 3)} < ${ROLLING_BARS.coverage}`);
    check(w.personalisation >= ROLLING_BARS.personalisation, `${at}: explore personalisation ${fmt(w.personalisation, 3)} < ${ROLLING_BARS.personalisation}`);
    for (const [label, margin] of Object.entries(ROLLING_BARS.gaucOverItemRate) as [Label, number][]) {
      const over = w.gauc_over_item_rate[label] ?? Number.NaN;
      check(over >= margin, `${at}: explore_score ${label} GAUC ${signed(over)} over item rate < ${signed(margin)}`);
    }
    check(w.suggested_recall20 >= ROLLING_BARS.suggestedPageOverPopularity * w.popularity_recall20, `${at}: Suggested Posts click recall@20 ${fmt(w.suggested_recall20)} < restricted popularity's ${fmt(w.popularity_recall20)}`);
    check(w.suggested_recall_list >= ROLLING_BARS.suggestedListOverPopularity * w.popularity_recall_list, `${at}: Suggested Posts click recall@list ${fmt(w.suggested_recall_list)} < restricted popularity's ${fmt(w.popularity_recall_list)}`);
  }
  const meanFeed = mean(windows.map((w) => w.feed_over_popularity));
  check(meanFeed >= ROLLING_BARS.meanFeedOverPopularity, `mean over the windows: explore NDCG@10 ${fmt(meanFeed, 3)}× popularity < ${ROLLING_BARS.meanFeedOverPopularity}`);
  return failures;
}

/** The windows side by side, then their mean. */
export function formatRolling(windows: readonly WindowSummary[]): string {
  const header = ["train ..", "test", "pop NDCG@10", "explore NDCG@10", "×pop", "×retrieval", "retrieval R@1000 ×pop", "coverage", "personal", "GAUC−item rate click", "long_view", "like", "follow", "suggested R@20 / pop", "R@list / pop"];
  const row = (w: WindowSummary): string[] => [
    w.train_end,
    `${w.test_start}..${w.test_end}`,
    fmt(w.popularity_ndcg10),
    fmt(w.explore_ndcg10),
    fmt(w.feed_over_popularity, 3),
    fmt(w.feed_over_retrieval, 3),
    fmt(w.retrieval_recall1000_over_popularity, 3),
    fmt(w.coverage, 3),
    fmt(w.personalisation, 3),
    signed(w.gauc_over_item_rate.click),
    signed(w.gauc_over_item_rate.long_view),
    signed(w.gauc_over_item_rate.like),
    signed(w.gauc_over_item_rate.follow),
    `${fmt(w.suggested_recall20)} / ${fmt(w.popularity_recall20)}`,
    `${fmt(w.suggested_recall_list)} / ${fmt(w.popularity_recall_list)}`,
  ];
  const meanOf = (pick: (w: WindowSummary) => number | undefined) => mean(windows.map((w) => pick(w) ?? Number.NaN));
  const meanRow = [
    "mean",
    "",
    fmt(meanOf((w) => w.popularity_ndcg10)),
    fmt(meanOf((w) => w.explore_ndcg10)),
    fmt(meanOf((w) => w.feed_over_popularity), 3),
    fmt(meanOf((w) => w.feed_over_retrieval), 3),
    fmt(meanOf((w) => w.retrieval_recall1000_over_popularity), 3),
    fmt(meanOf((w) => w.coverage), 3),
    fmt(meanOf((w) => w.personalisation), 3),
    signed(meanOf((w) => w.gauc_over_item_rate.click)),
    signed(meanOf((w) => w.gauc_over_item_rate.long_view)),
    signed(meanOf((w) => w.gauc_over_item_rate.like)),
    signed(meanOf((w) => w.gauc_over_item_rate.follow)),
    `${fmt(meanOf((w) => w.suggested_recall20))} / ${fmt(meanOf((w) => w.popularity_recall20))}`,
    `${fmt(meanOf((w) => w.suggested_recall_list))} / ${fmt(meanOf((w) => w.popularity_recall_list))}`,
  ];
  const rows = [...windows.map(row), meanRow];
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, v) => sum + v, 0) / values.length;
}

function fmt(value: number | undefined, digits = 4): string {
  return value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits);
}

function signed(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "—" : `${value >= 0 ? "+" : ""}${value.toFixed(4)}`;
}
