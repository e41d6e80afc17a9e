/** The sample and the list hash the feed snapshot (scripts/dev/feed-snapshot.ts) and the test that reads it share. */

/** `count` distinct user rows of `userCount`, drawn by a seeded LCG, ascending. */
export function snapshotUsers(userCount: number, count: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const rows = new Set<number>();
  while (rows.size < Math.min(count, userCount)) rows.add(Math.floor(next() * userCount));
  return [...rows].sort((a, b) => a - b);
}

/** FNV-1a over the list's items and its length, as 8 hex digits. */
export function listHash(items: readonly number[]): string {
  let hash = 0x811c9dc5;
  for (const value of [items.length, ...items]) {
    for (let shift = 0; shift < 32; shift += 8) hash = Math.imul(hash ^ ((value >>> shift) & 0xff), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
