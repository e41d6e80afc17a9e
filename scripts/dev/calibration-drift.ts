/**
 * Development measurement (issue 18): how much of the MTML's calibration error on a window's test days is the base
 * rate moving, and how much of it a correction that follows the base rate from real-time events could remove.
 * Scores the test impressions once (state at the end of training, as `npm run eval` does), then prints per label the
 * ECE of: the probabilities as served; an oracle that knows each test day's base rate (the floor of any base-rate
 * correction); and a causal tracker, p' = σ(logit p + logit r̂(t) − logit r_ref), where r̂(t) is the label's rate over
 * every user's impressions before t (decayed with half-life H, shrunk to r_ref by k impressions) and r_ref the rate
 * of the training window's last day, which the bundle can carry. The tracker reads only events before each impression.
 *   npx tsx scripts/dev/calibration-drift.ts --bundle <dir> --train-end D --test-start D' [--test-end D''] [--data <dir>]
 */
import { LABELS, type Label } from "../../core/data/labels";
import { reliability } from "../../core/eval/calibration";
import { scoredTestWindowFromArgs } from "./scored-test-window";

const { split, kept, probabilities } = await scoredTestWindowFromArgs();
const test = split.test;
const train = split.train;
const DAY = 86_400_000;
const HOUR = 3_600_000;

const logit = (p: number) => Math.log(Math.max(p, 1e-7) / Math.max(1 - p, 1e-7));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

for (const label of ["click", "long_view", "like"] as Label[]) {
  const l = LABELS.indexOf(label);
  const p = Float64Array.from(kept, (_, k) => probabilities[k * LABELS.length + l] as number);
  const y = Uint8Array.from(kept, (row) => test.labels[label]?.[row] ?? 0);
  const ts = Float64Array.from(kept, (row) => test.ts[row] as number);
  // the reference: the training window's last day
  let refN = 0;
  let refY = 0;
  for (let i = 0; i < train.size; i++) if ((train.ts[i] as number) >= split.trainEndMs - DAY) (refN++, (refY += train.labels[label]?.[i] ? 1 : 0));
  const rRef = refY / refN;
  const ece = (scores: ArrayLike<number>) => (reliability(scores, y)?.ece ?? Number.NaN).toFixed(4);
  // per day
  const days = new Map<number, number[]>();
  kept.forEach((_, k) => {
    const day = Math.floor(((ts[k] as number) - split.testStartMs) / DAY);
    const rowsOfDay = days.get(day);
    if (rowsOfDay) rowsOfDay.push(k);
    else days.set(day, [k]);
  });
  const oracle = new Float64Array(p.length);
  const perDay: string[] = [];
  for (const [day, ks] of days) {
    const observed = ks.reduce((s, k) => s + (y[k] as number), 0) / ks.length;
    const meanP = ks.reduce((s, k) => s + (p[k] as number), 0) / ks.length;
    let lo = -3;
    let hi = 3;
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      const m = ks.reduce((s, k) => s + sigmoid(logit(p[k] as number) + mid), 0) / ks.length;
      if (m < observed) lo = mid;
      else hi = mid;
    }
    for (const k of ks) oracle[k] = sigmoid(logit(p[k] as number) + lo);
    perDay.push(`day ${day}: observed ${observed.toFixed(4)}, mean predicted ${meanP.toFixed(4)}, oracle shift ${lo.toFixed(3)}`);
  }
  console.log(`\n${label}: reference rate (last training day) ${rRef.toFixed(4)}; ${perDay.join("; ")}`);
  console.log(`  ECE as served ${ece(p)}; oracle per-day shift ${ece(oracle)}`);
  // the causal tracker: every event (training tail + test) in time order, impressions of all users
  const streamTs: number[] = [];
  const streamY: number[] = [];
  for (let i = 0; i < train.size; i++) if ((train.ts[i] as number) >= split.trainEndMs - DAY) (streamTs.push(train.ts[i] as number), streamY.push(train.labels[label]?.[i] ? 1 : 0));
  for (let i = 0; i < test.size; i++) (streamTs.push(test.ts[i] as number), streamY.push(test.labels[label]?.[i] ? 1 : 0));
  const order = Array.from(streamTs.keys()).sort((a, b) => (streamTs[a] as number) - (streamTs[b] as number));
  const keptOrder = Array.from(kept.keys()).sort((a, b) => (ts[a] as number) - (ts[b] as number));
  for (const halfLifeHours of [1, 3, 6, 12, 24]) {
    for (const k0 of [100, 1000]) {
      const lambda = Math.LN2 / (halfLifeHours * HOUR);
      let n = 0;
      let c = 0;
      let last = -Infinity;
      let cursor = 0;
      const tracked = new Float64Array(p.length);
      for (const k of keptOrder) {
        const t = ts[k] as number;
        while (cursor < order.length && (streamTs[order[cursor] as number] as number) < t) {
          const e = order[cursor++] as number;
          const te = streamTs[e] as number;
          if (last > -Infinity) {
            const decay = Math.exp(-lambda * (te - last));
            n *= decay;
            c *= decay;
          }
          last = te;
          n += 1;
          c += streamY[e] as number;
        }
        const decayNow = last > -Infinity ? Math.exp(-lambda * (t - last)) : 0;
        const rHat = (c * decayNow + k0 * rRef) / (n * decayNow + k0);
        tracked[k] = sigmoid(logit(p[k] as number) + logit(rHat) - logit(rRef));
      }
      console.log(`  tracker H ${String(halfLifeHours).padStart(2)} h, k ${String(k0).padStart(4)}: ECE ${ece(tracked)}`);
    }
  }
}
