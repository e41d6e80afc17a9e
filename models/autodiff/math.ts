// Scalar helpers for the hot loops.
//
// Math.exp is an out-of-line call in V8 (~20 ns here), which made a 1024×1024 softmax cost ~20 ms of exp alone.
// Every exp the engine needs can be written with a non-positive argument (softmax after subtracting the row max,
// stable sigmoid and softplus via e^−|x|), and for x ≤ 0 a range reduction plus a short polynomial is accurate to
// ~1e-9 relative: far below float32 resolution, so results are indistinguishable from Math.exp once stored.

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
/** Below this, e^x underflows float32 entirely (smallest subnormal ≈ 1.4e-45 = e^−103.28). */
const EXP_UNDERFLOW = -104;
const POW2_BIAS = 151;
/** 2^k for k in [−151, 0]: scaling by a table entry avoids bit tricks on doubles. */
const POW2 = new Float64Array(POW2_BIAS + 1);
for (let k = 0; k <= POW2_BIAS; k++) POW2[k] = Math.pow(2, k - POW2_BIAS);

/**
 * e^x for x ≤ 0 (−Infinity → 0; NaN → NaN). For x > 0 the result is wrong: callers guarantee the sign.
 * x = k·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7 Taylor polynomial (truncation < 5e-9 relative).
 */
export function expNonPositive(x: number): number {
  if (x < EXP_UNDERFLOW) return 0;
  const k = Math.floor(x * LOG2E + 0.5); // Math.round is not inlined by V8 (~9 ns); floor is
  const r = x - k * LN2_HI - k * LN2_LO;
  const p =
    1 +
    r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))));
  return p * (POW2[k + POW2_BIAS] as number);
}

/** Logistic sigmoid without overflow and without a data-dependent branch (random signs would mispredict). */
export function stableSigmoid(v: number): number {
  const e = expNonPositive(-Math.abs(v));
  const s = 1 / (1 + e);
  // v ≥ 0: 1/(1+e^−v) = s;  v < 0: e^v/(1+e^v) = e·s.
  const positive = +(v >= 0);
  return e * s + (s - e * s) * positive;
}

/** log(1 + e^−|z|), the stable tail of softplus / BCE-with-logits. */
export function log1pExpNegAbs(z: number): number {
  return Math.log1p(expNonPositive(-Math.abs(z)));
}
