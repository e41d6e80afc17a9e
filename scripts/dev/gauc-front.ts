/**
 * Development measurement: how far one value-model score can order clicks, long views and likes among what users
 * were shown, against the item rate of each label (the `explore_score` guard rails). Scores a window's test
 * impressions with a bundle's MTML once, then traces EV = P(click) + w_lv·P(long view) + w_like·P(like) (and the
 * log-linear log P(click) + w_lv·log P(long view) + w_like·log P(like)) over a
 * grid of weights and prints each label's GAUC minus the item rate's.
 *   npx tsx scripts/dev/gauc-front.ts --bundle <dir> --train-end D --test-start D' [--test-end D''] [--data <dir>]
 */
import { LABELS, type Label } from "../../core/data/labels";
import { ItemRateScorer } from "../../core/eval/baselines/item-rate";
import { trainingData } from "../../core/eval/harness";
import { gauc } from "../../core/eval/metrics";
import { scoredTestWindowFromArgs } from "./scored-test-window";

// the impressions of items the bundle knows, grouped by user, scored as explore_score does (state at the end of training)
const { dataset, split, rows, kept, byUser, at, probabilities } = await scoredTestWindowFromArgs();
const test = split.test;
const users = Int32Array.from(kept, (row) => test.user[row] as number);
const rates = new ItemRateScorer(trainingData(dataset, split)).score({ size: kept.length, user: users, item: Int32Array.from(kept, (row) => test.item[row] as number), surface: new Int32Array(kept.length), atMs: new Float64Array(kept.length) });
const labels = (label: Label) => Uint8Array.from(kept, (row) => test.labels[label]?.[row] ?? 0);
const guarded: readonly Label[] = ["click", "long_view", "like"];
const baseline = Object.fromEntries(guarded.map((label) => [label, gauc(users, rates[label] as Float32Array, labels(label)) ?? Number.NaN]));
const p = (r: number, label: Label) => probabilities[r * LABELS.length + LABELS.indexOf(label)] as number;
console.log(`${kept.length} impressions of ${byUser.size} users; item rate GAUC click ${baseline.click?.toFixed(4)}, long_view ${baseline.long_view?.toFixed(4)}, like ${baseline.like?.toFixed(4)}`);
console.log("score                               click − item rate   long_view − item rate   like − item rate");
const row = (name: string, score: (r: number) => number) => {
  const scores = Float32Array.from({ length: kept.length }, (_, r) => score(r));
  const over = guarded.map((label) => (gauc(users, scores, labels(label)) ?? Number.NaN) - (baseline[label] as number));
  console.log(`${name.padEnd(36)}${over.map((v) => `${v >= 0 ? "+" : ""}${v.toFixed(4)}`.padStart(18)).join("    ")}`);
};
row("item click rate", (r) => (rates.click as Float32Array)[r] as number);
row("item like rate", (r) => (rates.like as Float32Array)[r] as number);
const observedClicks = labels("click");
row("observed click (oracle)", (r) => observedClicks[r] as number);
row("P(click)", (r) => p(r, "click"));
row("P(long_view)", (r) => p(r, "long_view"));
row("P(like)", (r) => p(r, "like"));
for (const lv of [0, 1, 2]) for (const like of [2, 5, 10, 20, 40]) row(`P(click) + ${lv}·P(lv) + ${like}·P(like)`, (r) => p(r, "click") + lv * p(r, "long_view") + like * p(r, "like"));
const lp = (r: number, label: Label) => Math.log(Math.max(p(r, label), 1e-7));
for (const lv of [0, 0.5, 1]) for (const like of [0.1, 0.2, 0.3, 0.5, 0.8]) row(`logP(click) + ${lv}·logP(lv) + ${like}·logP(like)`, (r) => lp(r, "click") + lv * lp(r, "long_view") + like * lp(r, "like"));
// the item rates beside the heads: the item's like rate as a second like signal, and the heads' or rates' like-to-click ratio
const lr = (r: number, label: Label) => Math.log(Math.max((rates[label] as Float32Array)[r] as number, 1e-7));
for (const rate of [0.1, 0.2, 0.3, 0.5]) for (const like of [0, 0.2, 0.5]) row(`logP(c) + ${rate}·logRate(like) + ${like}·logP(like)`, (r) => lp(r, "click") + rate * lr(r, "like") + like * lp(r, "like"));
for (const ratio of [0.2, 0.5]) row(`logP(c) + ${ratio}·log(P(like)/P(c))`, (r) => lp(r, "click") + ratio * (lp(r, "like") - lp(r, "click")));
for (const ratio of [0.1, 0.2, 0.3]) row(`logP(c) + ${ratio}·log(rate(like)/rate(c))`, (r) => lp(r, "click") + ratio * (lr(r, "like") - lr(r, "click")));

// per-user like weight from the user's own like propensity in the training window (shrunk to the global rate):
// EV = P(click) + w·s_u·P(like), s_u = (rate_u / global)^γ, so the like term weighs most for the users who like
const likeIndex = LABELS.indexOf("like");
const clickIndex = LABELS.indexOf("click");
let globalLikes = 0;
let globalImpressions = 0;
const propensity = new Map<number, { likes: number; clicks: number; impressions: number }>();
for (const user of byUser.keys()) {
  const activity = rows.userContext(user).activity;
  propensity.set(user, { likes: activity.positives[likeIndex] as number, clicks: activity.positives[clickIndex] as number, impressions: activity.impressions });
  globalLikes += activity.positives[likeIndex] as number;
  globalImpressions += activity.impressions;
}
const globalRate = globalLikes / Math.max(1, globalImpressions);
const shrink = 50;
const userScale = (user: number, gamma: number) => {
  const stats = propensity.get(user) ?? { likes: 0, clicks: 0, impressions: 0 };
  return Math.pow((stats.likes + shrink * globalRate) / (stats.impressions + shrink) / Math.max(globalRate, 1e-9), gamma);
};
for (const gamma of [0.5, 1, 2]) for (const like of [1, 2, 5, 10]) row(`P(c) + ${like}·s_u^${gamma}·P(like)`, (r) => p(r, "click") + like * userScale(users[r] as number, gamma) * p(r, "like"));
// the same from the MTML's own mean predictions over the user's impressions: s_u = (mean P(like) / mean P(click))^γ
const meanRatio = new Map<number, number>();
for (const user of byUser.keys()) meanRatio.set(user, 0);
{
  const sums = new Map<number, [number, number]>();
  for (let r = 0; r < kept.length; r++) {
    const s = sums.get(users[r] as number) ?? [0, 0];
    s[0] += p(r, "like");
    s[1] += p(r, "click");
    sums.set(users[r] as number, s);
  }
  let global = 0;
  for (const [, [l, c]] of sums) global += l / Math.max(c, 1e-9);
  global /= Math.max(1, sums.size);
  for (const [user, [l, c]] of sums) meanRatio.set(user, l / Math.max(c, 1e-9) / global);
}
for (const gamma of [1, 2, 3]) for (const like of [1, 2, 5, 10]) row(`P(c) + ${like}·m_u^${gamma}·P(like)`, (r) => p(r, "click") + like * Math.pow(meanRatio.get(users[r] as number) as number, gamma) * p(r, "like"));

// forms that act on P(like)'s top only: a hinge above a global threshold (the like head's own quantile), and within
// each user's impressions (a request's candidates at serving) the top q by P(like) promoted above the rest, each
// group ordered by P(click)
const likeSorted = Float32Array.from({ length: kept.length }, (_, r) => p(r, "like")).sort();
const likeQuantile = (q: number) => likeSorted[Math.min(likeSorted.length - 1, Math.floor(q * likeSorted.length))] as number;
for (const q of [0.8, 0.9, 0.95, 0.98]) for (const like of [5, 20, 100]) row(`P(c) + ${like}·max(0, P(like) − q${q})`, (r) => p(r, "click") + like * Math.max(0, p(r, "like") - likeQuantile(q)));
const userRank = (label: Label) => {
  const rank = new Float32Array(kept.length);
  for (const positions of byUser.values()) {
    const rows = positions.map((position) => at.get(position) as number).sort((a, b) => p(a, label) - p(b, label));
    rows.forEach((r, k) => (rank[r] = rows.length > 1 ? k / (rows.length - 1) : 0.5));
  }
  return rank;
};
const clickRank = userRank("click");
const likeRank = userRank("like");
for (const like of [0.25, 0.5, 1, 2]) row(`rank_u P(c) + ${like}·rank_u P(like)`, (r) => (clickRank[r] as number) + like * (likeRank[r] as number));
for (const q of [0.9, 0.95, 0.98]) row(`top ${((1 - q) * 100).toFixed(0)}% of user by P(like) first`, (r) => ((likeRank[r] as number) >= q ? 1 : 0) + p(r, "click"));
