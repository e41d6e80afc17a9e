import { describe, expect, it } from "vitest";
import { Rng } from "../../../models/autodiff";
import type { AuthorSequences } from "../../../models/account-embeddings/sequences";
import { DEFAULT_SKIP_GRAM, trainSkipGram, type SkipGramOptions } from "../../../models/account-embeddings/skip-gram";
import { cosine } from "./fixtures";

/**
 * Two communities that never mix: users of community 0 engage with authors 0..5, of community 1 with 6..11,
 * in random order. Author 12 occurs once (below minCount), author 13 never.
 */
function twoCommunities(users: number, seed: number): AuthorSequences {
  const rng = new Rng(seed);
  const offsets = [0];
  const tokens: number[] = [];
  for (let u = 0; u < users; u++) {
    const base = u % 2 === 0 ? 0 : 6;
    const length = 4 + rng.int(5);
    for (let t = 0; t < length; t++) {
      const author = base + rng.int(6);
      if (tokens.length > (offsets[offsets.length - 1] as number) && tokens[tokens.length - 1] === author) continue;
      tokens.push(author);
    }
    if (u === 0) tokens.push(12);
    offsets.push(tokens.length);
  }
  return { offsets: Int32Array.from(offsets), tokens: Int32Array.from(tokens), users: Int32Array.from({ length: users }, (_, u) => u) };
}

const AUTHORS = 14;
const options: SkipGramOptions = { ...DEFAULT_SKIP_GRAM, dim: 8, minCount: 2, epochs: 4, batchSize: 128, learningRate: 0.02, seed: 7 };

describe("trainSkipGram", () => {
  const sequences = twoCommunities(300, 1);
  const result = trainSkipGram(sequences, AUTHORS, options);
  const { vectors, dim } = result;

  it("puts authors that co-occur nearer than authors that never do", () => {
    let within = 0, withinPairs = 0, across = 0, acrossPairs = 0;
    for (let a = 0; a < 12; a++) {
      for (let b = a + 1; b < 12; b++) {
        const sim = cosine(vectors, dim, a, b);
        if (Math.floor(a / 6) === Math.floor(b / 6)) {
          within += sim;
          withinPairs++;
        } else {
          across += sim;
          acrossPairs++;
        }
      }
    }
    expect(within / withinPairs).toBeGreaterThan(across / acrossPairs + 0.5);
    // and every author's nearest other author is from its own community
    for (let a = 0; a < 12; a++) {
      let best = -1, bestSim = -Infinity;
      for (let b = 0; b < 12; b++) {
        if (b === a) continue;
        const sim = cosine(vectors, dim, a, b);
        if (sim > bestSim) [best, bestSim] = [b, sim];
      }
      expect(Math.floor(best / 6), `nearest of author ${a} is ${best}`).toBe(Math.floor(a / 6));
    }
    expect(result.losses[result.losses.length - 1]).toBeLessThan(result.losses[0] as number);
  });

  it("returns unit rows for the vocabulary and zero rows for rare or absent authors", () => {
    expect(Array.from(result.vocabulary)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(result.counts[12]).toBe(1);
    for (let a = 0; a < AUTHORS; a++) {
      let sq = 0;
      for (let d = 0; d < dim; d++) sq += (vectors[a * dim + d] as number) ** 2;
      expect(sq, `author ${a}`).toBeCloseTo(a < 12 ? 1 : 0, 5);
    }
  });

  it("is a pure function of the seed", () => {
    const again = trainSkipGram(sequences, AUTHORS, options);
    expect(Buffer.from(again.vectors.buffer).equals(Buffer.from(vectors.buffer))).toBe(true);
    expect(again.losses).toEqual(result.losses);
    const other = trainSkipGram(sequences, AUTHORS, { ...options, seed: 8 });
    expect(Buffer.from(other.vectors.buffer).equals(Buffer.from(vectors.buffer))).toBe(false);
  });

  it("also learns the communities with plain SGD", () => {
    const sgd = trainSkipGram(sequences, AUTHORS, { ...options, optimizer: "sgd", learningRate: 0.05, epochs: 5 });
    expect(cosine(sgd.vectors, dim, 0, 1) + cosine(sgd.vectors, dim, 6, 7)).toBeGreaterThan(cosine(sgd.vectors, dim, 0, 6) + cosine(sgd.vectors, dim, 1, 7) + 0.5);
  });

  it("rejects bad options and bad sequences", () => {
    expect(() => trainSkipGram(sequences, AUTHORS, { ...options, dim: 0 })).toThrow(/dim must be an integer ≥ 1/);
    expect(() => trainSkipGram(sequences, AUTHORS, { ...options, window: 1.5 })).toThrow(/window must be an integer/);
    expect(() => trainSkipGram(sequences, AUTHORS, { ...options, learningRate: Number.NaN })).toThrow(/learningRate/);
    expect(() => trainSkipGram(sequences, AUTHORS, { ...options, optimizer: "rmsprop" as "sgd" })).toThrow(/optimizer must be/);
    expect(() => trainSkipGram(sequences, 12, options)).toThrow(/token 12 .* not an author row in \[0, 12\)/);
    const broken = { ...sequences, offsets: Int32Array.from([0, 3]) };
    expect(() => trainSkipGram(broken, AUTHORS, options)).toThrow(/offsets must start at 0 and end at tokens.length/);
    const lonely: AuthorSequences = { offsets: Int32Array.from([0, 1, 2]), tokens: Int32Array.from([0, 1]), users: Int32Array.from([0, 1]) };
    expect(() => trainSkipGram(lonely, AUTHORS, { ...options, minCount: 1 })).toThrow(/nothing to learn from/);
  });
});
