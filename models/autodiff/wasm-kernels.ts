// WebAssembly SIMD kernels, emitted byte by byte from this file: a GEMM micro-kernel (+ B packing) and softmax rows.
//
// Why: scalar JS tops out near 1 GMAC/s on Float32Array loops and Math.exp costs ~20 ns, while f32x4 code runs an
// order of magnitude faster, and the trainer's budget (three models in ~5 minutes on 2 cores) is dominated by matmuls
// and the 1024×1024 in-batch softmax. Emitting the module here (instead of shipping a .wasm built by a C toolchain)
// keeps the source readable next to its callers and needs no build step. Compiling wasm from bytes at run time is fine
// in Node (the trainer's runtime); where it is not allowed (workerd) or SIMD is missing, `createWasmKernels` returns
// null and callers use their JS loops.
//
// gemm(a, rsA, csA, b, c, M, K, N, packA, scratch, accumulate) — byte offsets, f32, C[M×N] = A[M×K]·B[K×N] with
//   A[i,k] at a + i*rsA + k*csA (strides let A be read transposed), B packed panel-major: the 8-column panel p is a
//   contiguous K×8 block at b + p*K*32 (sequential reads, no power-of-two strides that alias in L1), C row-major
//   with row stride N*4. M a multiple of ROWS, N of COLS, K ≥ 1. Row blocks are the outer loop so a block of A is
//   reused across all panels while hot; with packA=1 (transposed A, rsA=4) the block's 4 columns are first copied
//   to `scratch` (K×16 bytes) so the panels read it sequentially too.
// packB(src, dst, K, N, panels, transposed) — copies B (row-major [K×N], or [N×K] when transposed) into the panel
//   layout above; gemm's `accumulate` flag adds into C instead of overwriting it.
// softmaxRow(ptr, off, n, invT, maxOut, scale) → Σ — z = x·invT + off in place, row max stored at maxOut, then
//   expNormalize with that max.
// expNormalize(ptr, n, shift, scale) → Σ — in place y = exp(x − shift) over n floats (n a multiple of 4,
//   x − shift ≤ 0), then y ·= scale/Σy; returns Σy as f64 (accumulated in f64). x − shift < −87 (incl. −∞) gives
//   exactly 0; NaN stays NaN. (scale lets the softmax loss write its gradient, p·invT/rows, in the same pass.)

/** Rows of C per micro-tile: 4 rows × 8 columns keeps 8 accumulators + 2 B vectors + 1 splat in 16 registers. */
export const KERNEL_ROWS = 4;
/** Columns of C per micro-tile (two f32x4 vectors) = width of a packed B panel. */
export const KERNEL_COLS = 8;

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

const OP = {
  if: 0x04,
  else: 0x05,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32Shl: 0x74,
  f32Load: 0x2a,
  f32Store: 0x38,
  f32Max: 0x97,
  f64Add: 0xa0,
  f64Div: 0xa3,
  f32DemoteF64: 0xb6,
} as const;
const SIMD = {
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i8x16Shuffle: 0x0d,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f64x2ExtractLane: 0x21,
  f32x4Lt: 0x43,
  v128Andnot: 0x4f,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Max: 0xe9,
  f64x2Add: 0xf0,
  i32x4TruncSatF32x4S: 0xf8,
} as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** Export names are ASCII, so a byte per char is their UTF-8 encoding (avoids needing TextEncoder's lib types). */
function name(text: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) bytes.push(text.charCodeAt(i) & 0x7f);
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Tiny function-body builder: each method appends one instruction. */
class Body {
  readonly bytes: number[] = [];
  get(local: number): this {
    this.bytes.push(OP.localGet, ...uleb(local));
    return this;
  }
  set(local: number): this {
    this.bytes.push(OP.localSet, ...uleb(local));
    return this;
  }
  tee(local: number): this {
    this.bytes.push(OP.localTee, ...uleb(local));
    return this;
  }
  i32(value: number): this {
    this.bytes.push(OP.i32Const, ...sleb(value));
    return this;
  }
  op(code: number): this {
    this.bytes.push(code);
    return this;
  }
  brIf(depth: number): this {
    this.bytes.push(OP.brIf, ...uleb(depth));
    return this;
  }
  simd(code: number, memOffset?: number): this {
    this.bytes.push(0xfd, ...uleb(code));
    // memarg: the alignment exponent is only a hint; offsets are immediates.
    if (memOffset !== undefined) this.bytes.push(...uleb(2), ...uleb(memOffset));
    return this;
  }
  /** A scalar load/store with a memarg (alignment hint 2 = 4 bytes). */
  mem(code: number, memOffset = 0): this {
    this.bytes.push(code, ...uleb(2), ...uleb(memOffset));
    return this;
  }
  lane(code: number, index: number): this {
    this.bytes.push(0xfd, ...uleb(code), index);
    return this;
  }
  shuffle(lanes: readonly number[]): this {
    this.bytes.push(0xfd, ...uleb(SIMD.i8x16Shuffle), ...lanes);
    return this;
  }
  /** v128.const holding `value` (as f32) in all four lanes. */
  f32x4(value: number): this {
    const bytes = new Uint8Array(Float32Array.of(value, value, value, value).buffer);
    this.bytes.push(0xfd, ...uleb(SIMD.v128Const), ...bytes);
    return this;
  }
  /** v128.const holding the i32 `value` in all four lanes. */
  i32x4(value: number): this {
    const bytes = new Uint8Array(Int32Array.of(value, value, value, value).buffer);
    this.bytes.push(0xfd, ...uleb(SIMD.v128Const), ...bytes);
    return this;
  }
  loop(): this {
    this.bytes.push(OP.loop, 0x40);
    return this;
  }
  /** local += delta (an i32 local or an immediate). */
  addTo(local: number, delta: { local: number } | { imm: number }): this {
    this.get(local);
    if ("local" in delta) this.get(delta.local);
    else this.i32(delta.imm);
    return this.op(OP.i32Add).set(local);
  }
}

interface FunctionDef {
  params: number[];
  results: number[];
  /** [count, type] groups of declared locals. */
  locals: [number, number][];
  body: Body;
}

function gemmFunction(): FunctionDef {
  const R = KERNEL_ROWS;
  const CV = KERNEL_COLS / 4;
  // Parameters.
  const a = 0, rsA = 1, csA = 2, b = 3, c = 4, M = 5, K = 6, N = 7, packA = 8, scratch = 9, accumulate = 10;
  // i32 locals.
  const sc = 11, j = 12, i = 13, blk = 14, bRs = 15, bCs = 16, pa0 = 17;
  const pb = pa0 + R, k = pb + 1, pc = k + 1, src = pc + 1, dst = src + 1;
  const firstV128 = dst + 1;
  const i32Count = firstV128 - sc;
  // v128 locals.
  const acc0 = firstV128, bv0 = acc0 + R * CV, s = bv0 + CV;
  const v128Count = s - acc0 + 1;
  const acc = (row: number, vec: number): number => acc0 + row * CV + vec;

  const f = new Body();
  f.get(N).i32(2).op(OP.i32Shl).set(sc); // C row stride in bytes
  f.i32(0).set(i);
  f.loop(); // row blocks
  {
    // blk/bRs/bCs: where this row block of A is read from, and with which strides.
    f.get(packA).op(OP.if).bytes.push(0x40);
    {
      // Copy the block's 4 adjacent columns-of-source (a v128 per k) into scratch, k-major.
      f.get(a).get(i).i32(2).op(OP.i32Shl).op(OP.i32Add).set(src);
      f.get(scratch).set(dst);
      f.get(K).set(k);
      f.loop();
      f.get(dst).get(src).simd(SIMD.v128Load, 0).simd(SIMD.v128Store, 0);
      f.addTo(src, { local: csA });
      f.addTo(dst, { imm: 16 });
      f.get(k).i32(1).op(OP.i32Sub).tee(k).brIf(0);
      f.op(OP.end);
      f.get(scratch).set(blk);
      f.i32(4).set(bRs);
      f.i32(16).set(bCs);
    }
    f.op(OP.else);
    {
      f.get(a).get(i).get(rsA).op(OP.i32Mul).op(OP.i32Add).set(blk);
      f.get(rsA).set(bRs);
      f.get(csA).set(bCs);
    }
    f.op(OP.end);
    f.i32(0).set(j);
    f.loop(); // column panels (j counts bytes within a C row)
    {
      f.get(blk).set(pa0);
      for (let r = 1; r < R; r++) f.get(pa0 + r - 1).get(bRs).op(OP.i32Add).set(pa0 + r);
      // Panel p = j/32 starts at b + p*K*32 = b + j*K.
      f.get(b).get(j).get(K).op(OP.i32Mul).op(OP.i32Add).set(pb);
      for (let r = 0; r < R; r++) for (let v = 0; v < CV; v++) f.f32x4(0).set(acc(r, v));
      f.get(K).set(k);
      f.loop(); // reduction
      {
        for (let v = 0; v < CV; v++) f.get(pb).simd(SIMD.v128Load, v * 16).set(bv0 + v);
        for (let r = 0; r < R; r++) {
          f.get(pa0 + r).simd(SIMD.v128Load32Splat, 0).set(s);
          for (let v = 0; v < CV; v++) {
            f.get(acc(r, v)).get(s).get(bv0 + v).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(acc(r, v));
          }
        }
        for (let r = 0; r < R; r++) f.addTo(pa0 + r, { local: bCs });
        f.addTo(pb, { imm: KERNEL_COLS * 4 });
        f.get(k).i32(1).op(OP.i32Sub).tee(k).brIf(0);
      }
      f.op(OP.end);
      f.get(c).get(i).get(sc).op(OP.i32Mul).op(OP.i32Add).get(j).op(OP.i32Add).set(pc);
      f.get(accumulate).op(OP.if).bytes.push(0x40);
      for (let r = 0; r < R; r++) {
        for (let v = 0; v < CV; v++) {
          f.get(pc).get(pc).simd(SIMD.v128Load, v * 16).get(acc(r, v)).simd(SIMD.f32x4Add).simd(SIMD.v128Store, v * 16);
        }
        if (r < R - 1) f.addTo(pc, { local: sc });
      }
      f.op(OP.else);
      for (let r = 0; r < R; r++) {
        for (let v = 0; v < CV; v++) f.get(pc).get(acc(r, v)).simd(SIMD.v128Store, v * 16);
        if (r < R - 1) f.addTo(pc, { local: sc });
      }
      f.op(OP.end);
      f.addTo(j, { imm: KERNEL_COLS * 4 });
      f.get(j).get(sc).op(OP.i32LtU).brIf(0);
    }
    f.op(OP.end);
    f.addTo(i, { imm: R });
    f.get(i).get(M).op(OP.i32LtU).brIf(0);
  }
  f.op(OP.end);
  f.op(OP.end);
  return {
    params: new Array<number>(11).fill(I32),
    results: [],
    locals: [[i32Count, I32], [v128Count, V128]],
    body: f,
  };
}

function expNormalizeFunction(): FunctionDef {
  const ptr = 0, n = 1, shift = 2, scale = 3;
  const p = 4, end = 5; // i32
  const x = 6, kf = 7, r = 8, y = 9, vShift = 10, accLo = 11, accHi = 12, inv = 13; // v128
  const sum = 14; // f64
  // exp(x) = 2^k · e^r, k = nearest(x·log2 e), r = x − k·ln2 (ln2 split in two for precision), e^r by a degree-7
  // polynomial in Horner form (Cephes expf coefficients, ~1 ulp in f32 on |r| ≤ ln2/2).
  const C1 = 0.693359375, C2 = -2.12194440e-4;
  const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  const f = new Body();
  f.get(shift).simd(SIMD.f32x4Splat).set(vShift);
  f.get(ptr).set(p);
  f.get(ptr).get(n).i32(2).op(OP.i32Shl).op(OP.i32Add).set(end);
  f.loop();
  {
    f.get(p).simd(SIMD.v128Load, 0).get(vShift).simd(SIMD.f32x4Sub).set(x);
    f.get(x).f32x4(Math.LOG2E).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Nearest).set(kf);
    f.get(x).get(kf).f32x4(C1).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Sub).get(kf).f32x4(C2).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Sub).set(r);
    // Horner: ((((P0 r + P1) r + P2) r + P3) r + P4) r + P5, then · r² + r + 1.
    f.f32x4(P[0] as number);
    for (let q = 1; q < P.length; q++) f.get(r).simd(SIMD.f32x4Mul).f32x4(P[q] as number).simd(SIMD.f32x4Add);
    f.get(r).get(r).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Mul).get(r).simd(SIMD.f32x4Add).f32x4(1).simd(SIMD.f32x4Add);
    // · 2^k built in the exponent field: (k + 127) << 23.
    f.get(kf).simd(SIMD.i32x4TruncSatF32x4S).i32x4(127).simd(SIMD.i32x4Add).i32(23).simd(SIMD.i32x4Shl).simd(SIMD.f32x4Mul);
    // Flush x < −87 (and −∞, whose r is NaN) to exactly 0.
    f.get(x).f32x4(-87).simd(SIMD.f32x4Lt).simd(SIMD.v128Andnot).set(y);
    f.get(p).get(y).simd(SIMD.v128Store, 0);
    f.get(accLo).get(y).simd(SIMD.f64x2PromoteLowF32x4).simd(SIMD.f64x2Add).set(accLo);
    f.get(accHi).get(y).get(y).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
    f.simd(SIMD.f64x2PromoteLowF32x4).simd(SIMD.f64x2Add).set(accHi);
    f.addTo(p, { imm: 16 });
    f.get(p).get(end).op(OP.i32LtU).brIf(0);
  }
  f.op(OP.end);
  f.get(accLo).lane(SIMD.f64x2ExtractLane, 0).get(accLo).lane(SIMD.f64x2ExtractLane, 1).op(OP.f64Add);
  f.get(accHi).lane(SIMD.f64x2ExtractLane, 0).op(OP.f64Add).get(accHi).lane(SIMD.f64x2ExtractLane, 1).op(OP.f64Add).set(sum);
  // Normalise in place by scale/Σ.
  f.get(scale).get(sum).op(OP.f64Div).op(OP.f32DemoteF64).simd(SIMD.f32x4Splat).set(inv);
  f.get(ptr).set(p);
  f.loop();
  {
    f.get(p).get(p).simd(SIMD.v128Load, 0).get(inv).simd(SIMD.f32x4Mul).simd(SIMD.v128Store, 0);
    f.addTo(p, { imm: 16 });
    f.get(p).get(end).op(OP.i32LtU).brIf(0);
  }
  f.op(OP.end);
  f.get(sum);
  f.op(OP.end);
  return { params: [I32, I32, F32, F64], results: [F64], locals: [[2, I32], [8, V128], [1, F64]], body: f };
}

function packBFunction(): FunctionDef {
  // packB(src, dst, K, N, panels, transposed): panel p of dst = columns 8p..8p+7 of op(B) as a contiguous [K×8]
  // block. transposed=0: src is row-major [K×N]; transposed=1: src is [N×K] (op(B) = srcᵀ). Columns ≥ N read
  // whatever follows in memory; they only feed C columns that are never copied out.
  const src = 0, dst = 1, K = 2, N = 3, panels = 4, transposed = 5;
  const p = 6, sp = 7, dp = 8, k = 9, l = 10, rowBytes = 11;
  const f = new Body();
  f.get(N).i32(2).op(OP.i32Shl).set(rowBytes);
  f.i32(0).set(p);
  f.loop();
  {
    f.get(transposed).op(OP.if).bytes.push(0x40);
    {
      f.i32(0).set(l);
      f.loop();
      {
        // sp = src + (8p + l)·K·4, dp = dst + p·K·32 + l·4
        f.get(src).get(p).i32(3).op(OP.i32Shl).get(l).op(OP.i32Add).get(K).op(OP.i32Mul).i32(2).op(OP.i32Shl).op(OP.i32Add).set(sp);
        f.get(dst).get(p).get(K).op(OP.i32Mul).i32(5).op(OP.i32Shl).op(OP.i32Add).get(l).i32(2).op(OP.i32Shl).op(OP.i32Add).set(dp);
        f.get(K).set(k);
        f.loop();
        f.get(dp).get(sp).mem(OP.f32Load).mem(OP.f32Store);
        f.addTo(sp, { imm: 4 });
        f.addTo(dp, { imm: 32 });
        f.get(k).i32(1).op(OP.i32Sub).tee(k).brIf(0);
        f.op(OP.end);
        f.addTo(l, { imm: 1 });
        f.get(l).i32(KERNEL_COLS).op(OP.i32LtU).brIf(0);
      }
      f.op(OP.end);
    }
    f.op(OP.else);
    {
      f.get(src).get(p).i32(5).op(OP.i32Shl).op(OP.i32Add).set(sp);
      f.get(dst).get(p).get(K).op(OP.i32Mul).i32(5).op(OP.i32Shl).op(OP.i32Add).set(dp);
      f.get(K).set(k);
      f.loop();
      f.get(dp).get(sp).simd(SIMD.v128Load, 0).simd(SIMD.v128Store, 0);
      f.get(dp).get(sp).simd(SIMD.v128Load, 16).simd(SIMD.v128Store, 16);
      f.addTo(sp, { local: rowBytes });
      f.addTo(dp, { imm: 32 });
      f.get(k).i32(1).op(OP.i32Sub).tee(k).brIf(0);
      f.op(OP.end);
    }
    f.op(OP.end);
    f.addTo(p, { imm: 1 });
    f.get(p).get(panels).op(OP.i32LtU).brIf(0);
  }
  f.op(OP.end);
  f.op(OP.end);
  return { params: new Array<number>(6).fill(I32), results: [], locals: [[6, I32]], body: f };
}

function softmaxRowFunction(expNormalizeIndex: number): FunctionDef {
  // softmaxRow(ptr, off, n, invT, maxOut, scale) → Σ: in place z = x·invT + off (n a multiple of 4; −∞ stays −∞),
  // stores the row max (f32) at maxOut, then expNormalize(ptr, n, max, scale): the row becomes scale·softmax(z);
  // returns Σ exp(z − max).
  const ptr = 0, off = 1, n = 2, invT = 3, maxOut = 4, scale = 5;
  const p = 6, q = 7, end = 8; // i32
  const vInvT = 9, vMax = 10, z = 11; // v128
  const max = 12; // f32
  const f = new Body();
  f.get(invT).simd(SIMD.f32x4Splat).set(vInvT);
  f.f32x4(-Infinity).set(vMax);
  f.get(ptr).set(p);
  f.get(off).set(q);
  f.get(ptr).get(n).i32(2).op(OP.i32Shl).op(OP.i32Add).set(end);
  f.loop();
  {
    f.get(p).simd(SIMD.v128Load, 0).get(vInvT).simd(SIMD.f32x4Mul).get(q).simd(SIMD.v128Load, 0).simd(SIMD.f32x4Add).set(z);
    f.get(p).get(z).simd(SIMD.v128Store, 0);
    f.get(vMax).get(z).simd(SIMD.f32x4Max).set(vMax);
    f.addTo(p, { imm: 16 });
    f.addTo(q, { imm: 16 });
    f.get(p).get(end).op(OP.i32LtU).brIf(0);
  }
  f.op(OP.end);
  f.get(vMax).lane(SIMD.f32x4ExtractLane, 0).get(vMax).lane(SIMD.f32x4ExtractLane, 1).op(OP.f32Max);
  f.get(vMax).lane(SIMD.f32x4ExtractLane, 2).get(vMax).lane(SIMD.f32x4ExtractLane, 3).op(OP.f32Max).op(OP.f32Max).set(max);
  f.get(maxOut).get(max).mem(OP.f32Store);
  f.get(ptr).get(n).get(max).get(scale);
  f.bytes.push(0x10, ...uleb(expNormalizeIndex)); // call expNormalize
  f.op(OP.end);
  return { params: [I32, I32, I32, F32, I32, F64], results: [F64], locals: [[3, I32], [3, V128], [1, F32]], body: f };
}

const EXPORTS = ["gemm", "expNormalize", "packB", "softmaxRow"] as const;

/** Builds the module bytes: exported memory and the functions in EXPORTS order. */
export function buildKernelModule(): Uint8Array {
  const functions = [gemmFunction(), expNormalizeFunction(), packBFunction(), softmaxRowFunction(1)];
  const types = functions.flatMap((fn) => [0x60, ...uleb(fn.params.length), ...fn.params, ...uleb(fn.results.length), ...fn.results]);
  const codes = functions.flatMap((fn) => {
    const locals = [...uleb(fn.locals.length), ...fn.locals.flatMap(([count, type]) => [...uleb(count), type])];
    const body = [...locals, ...fn.body.bytes];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(functions.length), ...types]),
    ...section(3, [...uleb(functions.length), ...functions.map((_, index) => index)]),
    ...section(5, [...uleb(1), 0x00, ...uleb(1)]),
    ...section(7, [
      ...uleb(EXPORTS.length + 1),
      ...name("memory"), 0x02, 0x00,
      ...EXPORTS.flatMap((exported, index) => [...name(exported), 0x00, ...uleb(index)]),
    ]),
    ...section(10, [...uleb(functions.length), ...codes]),
  ];
  return new Uint8Array(bytes);
}

/** The subset of the WebAssembly JS API used here, typed structurally so no DOM/WebWorker lib is required. */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

export type GemmKernel = (
  a: number, rsA: number, csA: number, b: number, c: number, m: number, k: number, n: number, packA: number, scratch: number,
  accumulate: number,
) => void;
export type ExpNormalizeKernel = (ptr: number, n: number, shift: number, scale: number) => number;
export type PackBKernel = (src: number, dst: number, k: number, n: number, panels: number, transposed: number) => void;
export type SoftmaxRowKernel = (ptr: number, offset: number, n: number, invT: number, maxOut: number, scale: number) => number;

/** The instantiated kernels plus a growable Float32Array view of their memory. */
export class WasmKernels {
  readonly gemm: GemmKernel;
  readonly expNormalize: ExpNormalizeKernel;
  readonly packB: PackBKernel;
  readonly softmaxRow: SoftmaxRowKernel;
  private readonly memory: WasmMemory;
  private view: Float32Array;

  constructor(memory: WasmMemory, exports: Record<string, unknown>) {
    this.memory = memory;
    this.gemm = exports["gemm"] as GemmKernel;
    this.expNormalize = exports["expNormalize"] as ExpNormalizeKernel;
    this.packB = exports["packB"] as PackBKernel;
    this.softmaxRow = exports["softmaxRow"] as SoftmaxRowKernel;
    this.view = new Float32Array(memory.buffer);
  }

  /** A view of the heap with at least `floats` elements (grows memory; views taken before a grow are stale). */
  heap(floats: number): Float32Array {
    const bytes = floats * 4;
    if (bytes > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / 65536));
    }
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }
}

/** Instantiates the kernels, or returns null when WebAssembly (or its SIMD) is unavailable or forbidden here. */
export function createWasmKernels(): WasmKernels | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const bytes = buildKernelModule();
    if (!api.validate(bytes)) return null;
    const instance = new api.Instance(new api.Module(bytes), {});
    const memory = instance.exports["memory"] as WasmMemory | undefined;
    if (memory === undefined || EXPORTS.some((exported) => typeof instance.exports[exported] !== "function")) return null;
    return new WasmKernels(memory, instance.exports);
  } catch {
    return null;
  }
}

/** Process-wide instance shared by gemm.ts and the softmax loss (single-threaded, never re-entered). */
export const wasmKernels: WasmKernels | null = createWasmKernels();
