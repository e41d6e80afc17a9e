// General matrix multiply used by every matmul forward and backward: C (+)= op(A) · op(B), row-major Float32Array.
//
// Two interchangeable backends: the wasm SIMD kernel (fast path, wasm-kernels.ts) and plain JS loops (fallback where
// wasm is unavailable, and the reference the tests compare the kernel against). Only the three layouts autodiff needs:
//   NN: A[M×K] · B[K×N]      (forward x·W, and dX = dY·W for A·Bᵀ)
//   NT: A[M×K] · B[N×K]ᵀ     (A·Bᵀ forward, dX = dY·Wᵀ)
//   TN: A[K×M]ᵀ · B[K×N]     (dW = Xᵀ·dY)
// The wasm path memcpys operands into its linear memory (O(MK+KN+MN) against the O(MNK) multiply); B is packed into
// 8-column panels and a transposed A is read block by block inside wasm, so no large transpose is ever made in JS.

import { KERNEL_COLS, KERNEL_ROWS, wasmKernels, type WasmKernels } from "./wasm-kernels";

export type GemmLayout = "NN" | "NT" | "TN";
export type GemmBackend = "wasm" | "js";

let backend: GemmBackend = wasmKernels === null ? "js" : "wasm";

/** Which kernels matmuls (and the in-batch softmax) use now. */
export function getGemmBackend(): GemmBackend {
  return backend;
}

/** Whether the wasm SIMD kernels could be instantiated in this runtime. */
export function wasmGemmAvailable(): boolean {
  return wasmKernels !== null;
}

/** Switches kernels (tests compare them; benchmarks time them). Throws if wasm is requested but unavailable. */
export function setGemmBackend(next: GemmBackend): void {
  if (next === "wasm" && wasmKernels === null) throw new Error("setGemmBackend: WebAssembly SIMD is not available here");
  backend = next;
}

/** @internal The wasm kernels when the wasm backend is selected, else null. */
export function activeWasmKernels(): WasmKernels | null {
  return backend === "wasm" ? wasmKernels : null;
}

/**
 * C (+)= op(A)·op(B). `m`, `k`, `n` are the logical sizes of op(A) [m×k] and op(B) [k×n]; C is [m×n].
 * With accumulate=false C is overwritten, otherwise the product is added to it.
 */
export function gemm(
  layout: GemmLayout,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): void {
  if (a.length < m * k || b.length < k * n || c.length < m * n) {
    throw new Error(`gemm(${layout}): buffers too small for m=${m} k=${k} n=${n} (a=${a.length} b=${b.length} c=${c.length})`);
  }
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) c.fill(0, 0, m * n);
    return;
  }
  const kernels = activeWasmKernels();
  if (kernels !== null) gemmWasm(kernels, layout, a, b, c, m, k, n, accumulate);
  else gemmJs(layout, a, b, c, m, k, n, accumulate);
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

function gemmWasm(
  w: WasmKernels,
  layout: GemmLayout,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): void {
  const mp = roundUp(m, KERNEL_ROWS);
  const np = roundUp(n, KERNEL_COLS);
  // Heap layout (float offsets, each region 16-byte aligned): A | B as given | B packed | C | scratch (one A block).
  // JS only does memcpy-style copies; packing and accumulation happen in wasm.
  const aOff = 0;
  const bSrcOff = aOff + roundUp(mp * k, 4);
  const bSrcLen = layout === "NT" ? np * k : k * n + KERNEL_COLS; // room for the last panel's over-read
  const bOff = bSrcOff + roundUp(bSrcLen, 4);
  const cOff = bOff + k * np;
  const scratchOff = cOff + mp * np;
  const heap = w.heap(scratchOff + k * KERNEL_ROWS);

  // A: row-major [mp×k] for NN/NT. For TN the source is [k×m]; it is stored as [k×mp] and the kernel copies each
  // 4-column block to scratch (packA) instead of a transposing copy here. Padding (A rows ≥ m, B columns ≥ n) is
  // whatever the heap held: it only reaches C rows/columns that are never copied out.
  let rsA: number;
  let csA: number;
  if (layout === "TN") {
    if (mp === m) heap.set(a.subarray(0, k * m), aOff);
    else for (let kk = 0; kk < k; kk++) heap.set(a.subarray(kk * m, kk * m + m), aOff + kk * mp);
    rsA = 4;
    csA = mp * 4;
  } else {
    heap.set(a.subarray(0, m * k), aOff);
    rsA = k * 4;
    csA = 4;
  }
  heap.set(b.subarray(0, k * n), bSrcOff);
  w.packB(bSrcOff * 4, bOff * 4, k, n, np / KERNEL_COLS, layout === "NT" ? 1 : 0);

  if (accumulate) copyRows(heap, cOff, np, c, 0, n, m);
  w.gemm(aOff * 4, rsA, csA, bOff * 4, cOff * 4, mp, k, np, layout === "TN" ? 1 : 0, scratchOff * 4, accumulate ? 1 : 0);
  copyRows(c, 0, n, heap, cOff, np, m);
}

/** Copies `rows` rows of width min(dstStride, srcStride) between row-major buffers (one memcpy when strides match). */
function copyRows(dst: Float32Array, dstOff: number, dstStride: number, src: Float32Array, srcOff: number, srcStride: number, rows: number): void {
  const width = Math.min(dstStride, srcStride);
  if (dstStride === srcStride) {
    dst.set(src.subarray(srcOff, srcOff + rows * width), dstOff);
    return;
  }
  for (let i = 0; i < rows; i++) dst.set(src.subarray(srcOff + i * srcStride, srcOff + i * srcStride + width), dstOff + i * dstStride);
}

function gemmJs(
  layout: GemmLayout,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, 0, m * n);
  if (layout === "NT") {
    // Both operands' rows are contiguous along k: a dot product per output, 4 accumulators to break the add chain.
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let kk = 0;
        for (; kk + 3 < k; kk += 4) {
          s0 += (a[ai + kk] as number) * (b[bj + kk] as number);
          s1 += (a[ai + kk + 1] as number) * (b[bj + kk + 1] as number);
          s2 += (a[ai + kk + 2] as number) * (b[bj + kk + 2] as number);
          s3 += (a[ai + kk + 3] as number) * (b[bj + kk + 3] as number);
        }
        for (; kk < k; kk++) s0 += (a[ai + kk] as number) * (b[bj + kk] as number);
        c[i * n + j] = (c[i * n + j] as number) + (s0 + s1 + s2 + s3);
      }
    }
    return;
  }
  // NN and TN: i-k-j order so the innermost loop streams a row of B and a row of C; k unrolled by 4.
  const aRowStride = layout === "TN" ? 1 : k;
  const aColStride = layout === "TN" ? m : 1;
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    let kk = 0;
    for (; kk + 3 < k; kk += 4) {
      const base = i * aRowStride + kk * aColStride;
      const a0 = a[base] as number;
      const a1 = a[base + aColStride] as number;
      const a2 = a[base + 2 * aColStride] as number;
      const a3 = a[base + 3 * aColStride] as number;
      const b0 = kk * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
      for (let j = 0; j < n; j++) {
        c[ci + j] =
          (c[ci + j] as number) +
          a0 * (b[b0 + j] as number) +
          a1 * (b[b1 + j] as number) +
          a2 * (b[b2 + j] as number) +
          a3 * (b[b3 + j] as number);
      }
    }
    for (; kk < k; kk++) {
      const av = a[i * aRowStride + kk * aColStride] as number;
      const bk = kk * n;
      for (let j = 0; j < n; j++) c[ci + j] = (c[ci + j] as number) + av * (b[bk + j] as number);
    }
  }
}
