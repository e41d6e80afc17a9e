// Adam for dense parameters, lazy (row-sparse) Adam for embedding tables.
//
// Lazy Adam (as TF's LazyAdam) only updates the moments and values of rows that received a gradient this step; the
// bias correction uses the global step count. A 30k-row table touched on ~1k rows per batch then costs ~1k rows of
// work, not 30k. Untouched rows keep stale moments, which is the accepted trade-off of the method.

import { Parameter, type Tensor, backward, shapeToString, tidy } from "./tensor";

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient (g += λ·θ) of dense parameters. */
  weightDecay?: number;
  /** L2 penalty for sparse (embedding) parameters, applied to touched rows only. */
  embeddingWeightDecay?: number;
  /** If set, gradients are scaled so that their global L2 norm (over all parameters) is at most this. */
  clipGlobalNorm?: number;
}

export interface AdamStepInfo {
  /** Global L2 norm of the raw gradients (before clipping and weight decay). */
  gradNorm: number;
  /** Factor applied to gradients by clipping (1 when no clipping happened). */
  clipScale: number;
}

export class Adam {
  readonly params: readonly Parameter[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly embeddingWeightDecay: number;
  readonly clipGlobalNorm: number | undefined;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(params: readonly Parameter[], options: AdamOptions) {
    const names = new Set<string>();
    for (const p of params) {
      if (!(p instanceof Parameter)) throw new Error("Adam: every entry of params must be a Parameter");
      if (names.has(p.name)) throw new Error(`Adam: duplicate parameter name ${p.name}`);
      names.add(p.name);
    }
    const check = (label: string, value: number, ok: boolean): number => {
      if (!ok || !Number.isFinite(value)) throw new Error(`Adam: invalid ${label} ${value}`);
      return value;
    };
    this.params = [...params];
    this.lr = check("lr", options.lr, options.lr > 0);
    this.beta1 = check("beta1", options.beta1 ?? 0.9, (options.beta1 ?? 0.9) >= 0 && (options.beta1 ?? 0.9) < 1);
    this.beta2 = check("beta2", options.beta2 ?? 0.999, (options.beta2 ?? 0.999) >= 0 && (options.beta2 ?? 0.999) < 1);
    this.eps = check("eps", options.eps ?? 1e-8, (options.eps ?? 1e-8) > 0);
    this.weightDecay = check("weightDecay", options.weightDecay ?? 0, (options.weightDecay ?? 0) >= 0);
    this.embeddingWeightDecay = check("embeddingWeightDecay", options.embeddingWeightDecay ?? 0, (options.embeddingWeightDecay ?? 0) >= 0);
    if (options.clipGlobalNorm !== undefined) check("clipGlobalNorm", options.clipGlobalNorm, options.clipGlobalNorm > 0);
    this.clipGlobalNorm = options.clipGlobalNorm;
    this.m = this.params.map((p) => new Float32Array(p.size));
    this.v = this.params.map((p) => new Float32Array(p.size));
  }

  /** Number of steps taken. */
  get stepCount(): number {
    return this.t;
  }

  /**
   * One training step on the scalar loss `computeLoss` builds: backward, update, zero the gradients, and free the
   * step's intermediate tensors. Returns the loss value.
   */
  minimize(computeLoss: () => Tensor): number {
    return tidy(() => {
      const loss = computeLoss();
      backward(loss);
      this.step();
      this.zeroGrad();
      return loss.item();
    });
  }

  /** Zeroes all parameter gradients (only touched rows for sparse tables). */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /**
   * One update from the accumulated gradients (does not zero them: call zeroGrad before the next backward).
   * Throws, before changing anything, if any gradient is NaN/Infinity.
   */
  step(): AdamStepInfo {
    let sq = 0;
    for (const p of this.params) {
      const g = p.grad;
      if (g === null) continue;
      const ps = sq;
      const rows = p.touchedRows();
      if (rows === "all") {
        for (let i = 0; i < g.length; i++) sq += (g[i] as number) * (g[i] as number);
      } else {
        const cols = p.shape[1] as number;
        for (let r = 0; r < rows.length; r++) {
          const base = (rows[r] as number) * cols;
          for (let j = 0; j < cols; j++) sq += (g[base + j] as number) * (g[base + j] as number);
        }
      }
      if (!Number.isFinite(sq)) {
        throw new Error(`Adam.step: non-finite gradient in parameter ${p.name} ${shapeToString(p.shape)} (running Σg² ${ps} → ${sq})`);
      }
    }
    const gradNorm = Math.sqrt(sq);
    const clipScale = this.clipGlobalNorm !== undefined && gradNorm > this.clipGlobalNorm ? this.clipGlobalNorm / gradNorm : 1;

    this.t++;
    const b1 = this.beta1, b2 = this.beta2, eps = this.eps;
    const bias1 = 1 / (1 - Math.pow(b1, this.t));
    const bias2 = 1 / (1 - Math.pow(b2, this.t));
    const lr = this.lr;
    for (let index = 0; index < this.params.length; index++) {
      const p = this.params[index] as Parameter;
      const g = p.grad;
      if (g === null) continue;
      const m = this.m[index] as Float32Array;
      const v = this.v[index] as Float32Array;
      const theta = p.data;
      const decay = p.sparse ? this.embeddingWeightDecay : this.weightDecay;
      const rows = p.touchedRows();
      if (rows === "all") {
        adamUpdate(theta, g, m, v, 0, g.length, clipScale, decay, b1, b2, lr * bias1, bias2, eps);
      } else {
        const cols = p.shape[1] as number;
        for (let r = 0; r < rows.length; r++) {
          const base = (rows[r] as number) * cols;
          adamUpdate(theta, g, m, v, base, base + cols, clipScale, decay, b1, b2, lr * bias1, bias2, eps);
        }
      }
    }
    return { gradNorm, clipScale };
  }
}

/**
 * Adam on theta[from..to): g' = clip·g + λ·θ; m, v moving averages; θ −= lr·m̂ / (sqrt(v̂) + eps).
 * Dense and lazy updates share this one monomorphic loop, so they are bit-identical on the rows both touch.
 */
function adamUpdate(
  theta: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, from: number, to: number,
  clipScale: number, decay: number, b1: number, b2: number, lrBias1: number, bias2: number, eps: number,
): void {
  const c1 = 1 - b1, c2 = 1 - b2;
  for (let i = from; i < to; i++) {
    const gi = (g[i] as number) * clipScale + decay * (theta[i] as number);
    const mi = b1 * (m[i] as number) + c1 * gi;
    const vi = b2 * (v[i] as number) + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    theta[i] = (theta[i] as number) - (lrBias1 * mi) / (Math.sqrt(vi * bias2) + eps);
  }
}
