/**
 * How much the query layer itself costs: parse + plan of the seed query, and executing it at full
 * size (30 liked accounts × 10 neighbours × 10 media = 3,000 items through filter, rank and
 * diversify) over ports that answer from precomputed arrays, so the time is the executor's own.
 *
 *   npx tsx test/node/query/bench.ts
 */
import { executeQuery, parseQuery, planQuery, type QueryStores, type ScoredId } from "../../../core/query";
import { SEED_QUERY } from "./fixture-graph";

const ACCOUNTS = 2_000;
const MEDIA_PER_ACCOUNT = 10;
const list = (n: number, at: (i: number) => number): ScoredId[] => Array.from({ length: n }, (_, i) => ({ id: at(i), score: 1 - i / n }));

const stores: QueryStores = {
  likedAccounts: (_user, max) => list(max, (i) => i * 7),
  likedMedia: (_user, max) => list(max, (i) => i),
  followedAccounts: (_user, max) => list(max, (i) => i * 3),
  engagedAccounts: (_user, _surface, max) => list(max, (i) => i * 5),
  engagedMedia: (_user, _surface, max) => list(max, (i) => i),
  accountNeighbours: (accounts, k) => accounts.map((a) => list(k, (i) => (a * 31 + i * 17 + 1) % ACCOUNTS)),
  mediaNeighbours: (media, k) => media.map((m) => list(k, (i) => (m + i + 1) % (ACCOUNTS * MEDIA_PER_ACCOUNT))),
  cooccurredMedia: (media, k) => media.map((m) => list(k, (i) => (m * 3 + i + 1) % (ACCOUNTS * MEDIA_PER_ACCOUNT))),
  postedMedia: (accounts, max) => accounts.map((a) => list(Math.min(max, MEDIA_PER_ACCOUNT), (i) => a * MEDIA_PER_ACCOUNT + i)),
  twoHopAccounts: (accounts, max) => accounts.map((a) => list(max, (i) => (a + i * 13 + 1) % ACCOUNTS)),
  userNeighbours: (_user, n) => list(n, (i) => i * 3),
  authorAffinity: (_user, max) => list(max, (i) => i * 11),
  followedOrLikedAccounts: (_user, max) => list(max, (i) => i * 3),
  popularMedia: (_user, n) => list(n, (i) => i),
  trendingMedia: (_user, n) => list(n, (i) => i * 2),
  authorsOf: (media) => media.map((m) => Math.floor(m / MEDIA_PER_ACCOUNT)),
  integrityScores: (media) => media.map((m) => ((m * 2654435761) % 1000) / 1000),
  seenMedia: () => new Set(Array.from({ length: 500 }, (_, i) => i * 37)),
  followedAuthors: () => new Set(Array.from({ length: 100 }, (_, i) => i * 11)),
  rank: (_user, media) => media.map((m) => ((m * 40503) % 65536) / 65536),
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

function time(repeats: number, body: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    body();
    out.push(performance.now() - start);
  }
  return out;
}

async function main(): Promise<void> {
  const loose = { limits: { cpuBudgetMs: 10_000 } };
  const coldPlanStart = performance.now();
  const plan = planQuery(SEED_QUERY, loose);
  const coldPlanMs = performance.now() - coldPlanStart;
  const coldRun = await executeQuery(plan, stores, { userId: 1 });

  const parseMs = time(2000, () => parseQuery(SEED_QUERY));
  const planMs = time(2000, () => planQuery(SEED_QUERY, loose));
  const runs: number[] = [];
  const perStep = new Map<string, number[]>();
  let candidates = 0;
  for (let i = 0; i < 200; i++) {
    const result = await executeQuery(plan, stores, { userId: 1 });
    runs.push(result.trace.totalMs);
    candidates = result.candidates.length;
    for (const step of result.trace.steps) perStep.set(step.operator, [...(perStep.get(step.operator) ?? []), step.elapsedMs]);
  }
  console.log(`seed query, ${SEED_QUERY.length} characters`);
  console.log(`  parse            median ${(median(parseMs) * 1000).toFixed(1)} µs`);
  console.log(`  parse + plan     median ${(median(planMs) * 1000).toFixed(1)} µs (first call ${coldPlanMs.toFixed(2)} ms)`);
  console.log(`  execute          median ${median(runs).toFixed(3)} ms over 200 runs; first run ${coldRun.trace.totalMs.toFixed(2)} ms; ${candidates} candidates`);
  for (const [operator, values] of perStep) console.log(`    ${operator.padEnd(14)} median ${median(values).toFixed(3)} ms`);
  console.log(`  trace counts     ${coldRun.trace.steps.map((s) => `${s.operator} ${s.countIn}->${s.countOut}`).join(", ")}`);
}

await main();
