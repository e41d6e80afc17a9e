/**
 * Ranking metrics. Each function states its tie rule, because ties are common (popularity scores,
 * smoothed rates) and an arbitrary tie order would make a metric depend on input order.
 */

/** Fraction of `relevant` found in the first k of `ranked`. */
export function recallAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  if (relevant.size === 0) throw new RangeError("recall needs at least one relevant item");
  let hits = 0;
  const end = Math.min(k, ranked.length);
  for (let i = 0; i < end; i++) if (relevant.has(ranked[i] as number)) hits++;
  return hits / relevant.size;
}

/** 1 when any relevant item is in the first k. */
export function hitAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const end = Math.min(k, ranked.length);
  for (let i = 0; i < end; i++) if (relevant.has(ranked[i] as number)) return 1;
  return 0;
}

/** Binary-gain NDCG@k: DCG over the first k positions, divided by the DCG of an ideal list. */
export function ndcgAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  if (relevant.size === 0) throw new RangeError("NDCG needs at least one relevant item");
  let dcg = 0;
  const end = Math.min(k, ranked.length);
  for (let i = 0; i < end; i++) if (relevant.has(ranked[i] as number)) dcg += 1 / Math.log2(i + 2);
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return dcg / ideal;
}

/**
 * Area under the ROC curve by the rank-sum (Mann–Whitney) statistic; tied scores share their average
 * rank, so a tie between a positive and a negative counts one half. Undefined (null) without both classes.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`auc: ${n} scores but ${labels.length} labels`);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`auc: score ${i} is NaN`);
    order[i] = i;
  }
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let positiveRankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (labels[order[t] as number]) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Group AUC: the per-user AUC averaged with each user weighted by their number of impressions,
 * over users who have both a positive and a negative (others have no defined AUC).
 */
export function gauc(groups: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const byGroup = groupRows(groups);
  let weighted = 0;
  let weight = 0;
  for (const rows of byGroup.values()) {
    const value = auc(rows.map((r) => scores[r] as number), rows.map((r) => labels[r] as number));
    if (value === null) continue;
    weighted += value * rows.length;
    weight += rows.length;
  }
  return weight === 0 ? null : weighted / weight;
}

/**
 * NDCG@k of one list of impressions re-ranked by score, with the label as gain. Within a run of tied
 * scores every order is equally likely, so each tied position gets the run's mean gain (the expected DCG).
 */
export function replayNdcgAtK(scores: ArrayLike<number>, gains: ArrayLike<number>, k: number): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let dcg = 0;
  let i = 0;
  while (i < n && i < k) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    let runGain = 0;
    for (let t = i; t <= j; t++) runGain += gains[order[t] as number] as number;
    const meanGain = runGain / (j - i + 1);
    for (let t = i; t <= Math.min(j, k - 1); t++) dcg += meanGain / Math.log2(t + 2);
    i = j + 1;
  }
  const ideal = Array.from(gains).sort((a, b) => b - a);
  let idcg = 0;
  for (let t = 0; t < Math.min(k, n); t++) idcg += (ideal[t] as number) / Math.log2(t + 2);
  return idcg === 0 ? null : dcg / idcg;
}

/**
 * Replay NDCG@k averaged over groups (users) with at least `minImpressions` impressions and one positive.
 */
export function meanReplayNdcg(groups: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>, k: number, minImpressions = 2): number | null {
  let sum = 0;
  let count = 0;
  for (const rows of groupRows(groups).values()) {
    if (rows.length < minImpressions) continue;
    const value = replayNdcgAtK(rows.map((r) => scores[r] as number), rows.map((r) => labels[r] as number), k);
    if (value === null) continue;
    sum += value;
    count++;
  }
  return count === 0 ? null : sum / count;
}

function groupRows(groups: ArrayLike<number>): Map<number, number[]> {
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] as number;
    let rows = byGroup.get(group);
    if (!rows) byGroup.set(group, (rows = []));
    rows.push(i);
  }
  return byGroup;
}

/**
 * 1 − the mean pairwise Jaccard overlap of the lists' item sets: 0 when everyone gets the same items, 1 when no two
 * lists share one (two empty lists share nothing). Needs at least two lists.
 */
export function personalisation(lists: readonly ArrayLike<number>[]): number {
  const n = lists.length;
  if (n < 2) throw new RangeError("personalisation needs at least two lists");
  // pair overlaps counted from the items each pair shares (a dense n × n tally), not from every pair of lists
  const sets = lists.map((list) => new Set(Array.from(list)));
  const holders = new Map<number, number[]>();
  sets.forEach((set, l) => {
    for (const item of set) {
      let owners = holders.get(item);
      if (!owners) holders.set(item, (owners = []));
      owners.push(l);
    }
  });
  const shared = new Uint32Array(n * n);
  for (const owners of holders.values()) {
    for (let a = 0; a < owners.length; a++) {
      const row = (owners[a] as number) * n;
      for (let b = a + 1; b < owners.length; b++) {
        const cell = row + (owners[b] as number);
        shared[cell] = (shared[cell] as number) + 1;
      }
    }
  }
  let jaccardSum = 0;
  for (let a = 0; a < n; a++) {
    const sizeA = (sets[a] as Set<number>).size;
    for (let b = a + 1; b < n; b++) {
      const intersection = shared[a * n + b] as number;
      if (intersection > 0) jaccardSum += intersection / (sizeA + (sets[b] as Set<number>).size - intersection);
    }
  }
  return 1 - jaccardSum / ((n * (n - 1)) / 2);
}
