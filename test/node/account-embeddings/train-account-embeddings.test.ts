import { describe, expect, it } from "vitest";
import { Rng } from "../../../models/autodiff";
import { DEFAULT_ACCOUNT_EMBEDDING_METHOD, trainAccountEmbeddings } from "../../../models/account-embeddings";
import { catalogue, cosine, eventTable, trainingData, type EventSpec } from "./fixtures";

// 12 authors, two items each (item 2a and 2a+1 by author a); author 11's items are never engaged with
const items = catalogue(Array.from({ length: 24 }, (_, i) => Math.floor(i / 2)), 12);
const rng = new Rng(5);
const events: EventSpec[] = [];
for (let user = 0; user < 200; user++) {
  const base = user % 2 === 0 ? 0 : 5; // community 0: authors 0..4, community 1: authors 5..9
  for (let t = 0; t < 6; t++) events.push({ user, item: 2 * (base + rng.int(5)) + rng.int(2), ts: user * 100 + t, labels: ["click"] });
}
events.push({ user: 0, item: 20, ts: 99_999 }); // author 10: an impression only
const train = trainingData(items, eventTable(events), 200);

describe("trainAccountEmbeddings", () => {
  it("skip-gram: one unit row per author, zero for authors without engagement, communities apart", () => {
    const result = trainAccountEmbeddings(train, { seed: 1, method: "skip-gram", skipGram: { dim: 8, minCount: 2, epochs: 4, learningRate: 0.02 } });
    expect(result.method).toBe("skip-gram");
    expect(result.dim).toBe(8);
    expect(result.vectors.length).toBe(12 * 8);
    expect(result.metrics.authors_with_vector).toBe(10);
    expect(Array.from(result.vectors.subarray(10 * 8))).toEqual(new Array(16).fill(0));
    expect(cosine(result.vectors, 8, 0, 1)).toBeGreaterThan(cosine(result.vectors, 8, 0, 6) + 0.3);
  });

  it("item-mean: aggregates the given item embeddings per author", () => {
    const dim = 3;
    const itemVectors = new Float32Array(24 * dim);
    for (let i = 0; i < 24; i++) itemVectors[i * dim + (i % dim)] = 1;
    const mean = trainAccountEmbeddings(train, { seed: 1, method: "item-mean", itemEmbeddings: { vectors: itemVectors, dim }, itemWeighting: "mean" });
    expect(mean.dim).toBe(3);
    expect(mean.metrics.authors_with_vector).toBe(12);
    // author 0 = items 0 (e0) and 1 (e1) → [1, 1, 0]/√2
    expect(Array.from(mean.vectors.subarray(0, 3)).map((v) => Number(v.toFixed(5)))).toEqual([0.70711, 0.70711, 0]);
    // engagement weighting: author 11 (never engaged) still has the plain mean of its items 22 (e1) and 23 (e2)
    const weighted = trainAccountEmbeddings(train, { seed: 1, method: "item-mean", itemEmbeddings: { vectors: itemVectors, dim }, itemWeighting: "engagements" });
    expect(Array.from(weighted.vectors.subarray(33, 36)).map((v) => Number(v.toFixed(5)))).toEqual([0, 0.70711, 0.70711]);
    const clicks = [0, 0];
    for (const e of events) if (e.labels !== undefined && (e.item === 0 || e.item === 1)) clicks[e.item] = (clicks[e.item] as number) + 1;
    const [w0, w1] = [1 + (clicks[0] as number), 1 + (clicks[1] as number)];
    expect(weighted.vectors[0]).toBeCloseTo(w0 / Math.hypot(w0, w1), 5);
    expect(weighted.vectors[1]).toBeCloseTo(w1 / Math.hypot(w0, w1), 5);
  });

  it("defaults to the method the comparison chose, and says what is missing", () => {
    expect(DEFAULT_ACCOUNT_EMBEDDING_METHOD).toBe("item-mean");
    expect(() => trainAccountEmbeddings(train, { seed: 1 })).toThrow(/needs options.itemEmbeddings/);
    expect(() => trainAccountEmbeddings(train, { seed: 1, method: "word2vec" as "skip-gram" })).toThrow(/unknown method word2vec/);
    expect(() => trainAccountEmbeddings(train, { seed: Number.NaN, method: "skip-gram" })).toThrow(/seed must be a finite number/);
    expect(() => trainAccountEmbeddings(train, { seed: 1, itemEmbeddings: { vectors: new Float32Array(10), dim: 3 } })).toThrow(/10 item values are not 24 items × 3 dims/);
  });
});
