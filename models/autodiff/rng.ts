// Seeded randomness so that a training run is a pure function of its seed: initialisers, shuffles and negative
// sampling all draw from an explicit Rng instead of Math.random.

/** xoshiro128** (32-bit state words, period 2^128−1), seeded through splitmix32 so small seeds are well mixed. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    let x = Math.trunc(seed) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). Throws for n outside [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal via Box–Muller; the second value of each pair is kept for the next call. */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [index: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function checkedSize(op: string, shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape [${shape.join(", ")}]`);
    size *= d;
  }
  return size;
}

/**
 * Glorot/Xavier uniform for a [fanIn×fanOut] weight: U(−a, a), a = sqrt(6 / (fanIn + fanOut)).
 * Keeps activation variance roughly constant through sigmoid/tanh/linear layers.
 */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const size = checkedSize("glorotUniform", [fanIn, fanOut]);
  const limit = Math.sqrt(6 / Math.max(1, fanIn + fanOut));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() * 2 - 1) * limit;
  return out;
}

/** He/Kaiming uniform for a [fanIn×fanOut] weight followed by ReLU: U(−a, a), a = sqrt(6 / fanIn). */
export function heUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const size = checkedSize("heUniform", [fanIn, fanOut]);
  const limit = Math.sqrt(6 / Math.max(1, fanIn));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() * 2 - 1) * limit;
  return out;
}

/** N(0, std²) entries, e.g. embedding tables (std ≈ 1/sqrt(dim) or 0.01–0.05). */
export function normalInit(rng: Rng, shape: readonly number[], std: number): Float32Array {
  const size = checkedSize("normalInit", shape);
  if (!Number.isFinite(std) || std < 0) throw new Error(`normalInit: std must be finite and ≥ 0, got ${std}`);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

/** U(low, high) entries. */
export function uniformInit(rng: Rng, shape: readonly number[], low: number, high: number): Float32Array {
  const size = checkedSize("uniformInit", shape);
  if (!(high >= low)) throw new Error(`uniformInit: need low ≤ high, got ${low}, ${high}`);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = low + rng.uniform() * (high - low);
  return out;
}
