// Shared helpers for the autodiff tests: random tensors from a seeded Rng and a central-difference gradient check.
import { expect } from "vitest";
import { Parameter, Rng, Tensor, backward, constant, mul, noGrad, sum, type Shape } from "../../../models/autodiff";

export function randomArray(rng: Rng, size: number, scale = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() * 2 - 1) * scale;
  return out;
}

/** Entries uniform in ±[minAbs, maxAbs] so kinks (relu at 0) stay further than the FD step away. */
export function awayFromZero(rng: Rng, size: number, minAbs = 0.1, maxAbs = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const mag = minAbs + rng.uniform() * (maxAbs - minAbs);
    out[i] = rng.uniform() < 0.5 ? -mag : mag;
  }
  return out;
}

export function param(name: string, rng: Rng, shape: Shape, scale = 1, sparse = false): Parameter {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Parameter(name, randomArray(rng, size, scale), shape, { sparse });
}

export interface GradCheckOptions {
  /** Finite-difference step (applied to float32 parameters; the realised step is used as the denominator). */
  h?: number;
  atol?: number;
  rtol?: number;
  /** Seed for the random projection of non-scalar outputs. */
  projectionSeed?: number;
}

/**
 * Checks d(Σ r⊙f())/dθ from backward() against central differences for every element of every parameter.
 * Non-scalar outputs are projected onto a fixed random r so every output element contributes a distinct upstream
 * gradient; the projection of the perturbed outputs is computed in float64 to keep rounding out of the difference.
 */
export function gradCheck(forward: () => Tensor, params: readonly Parameter[], options: GradCheckOptions = {}): void {
  const h = options.h ?? 1e-2;
  const atol = options.atol ?? 2e-3;
  const rtol = options.rtol ?? 1e-2;
  const probe = noGrad(forward);
  const projection = probe.size === 1 ? Float32Array.of(1) : randomArray(new Rng(options.projectionSeed ?? 99), probe.size);
  const objective = (): number => {
    const y = noGrad(forward).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] as number) * (projection[i] as number);
    return s;
  };

  for (const p of params) p.zeroGrad();
  const out = forward();
  const loss = out.size === 1 ? out : sum(mul(out, constant(projection, out.shape)));
  backward(loss);

  for (const p of params) {
    const analytic = p.grad === null ? new Float32Array(p.size) : Float32Array.from(p.grad);
    for (let i = 0; i < p.size; i++) {
      const original = p.data[i] as number;
      p.data[i] = original + h;
      const up = p.data[i] as number;
      const fUp = objective();
      p.data[i] = original - h;
      const down = p.data[i] as number;
      const fDown = objective();
      p.data[i] = original;
      const numeric = (fUp - fDown) / (up - down);
      const a = analytic[i] as number;
      const tol = atol + rtol * Math.max(Math.abs(a), Math.abs(numeric));
      if (!(Math.abs(a - numeric) <= tol)) {
        expect.fail(`gradient mismatch for ${p.name}[${i}]: analytic ${a}, numeric ${numeric} (tol ${tol.toExponential(2)})`);
      }
    }
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}
