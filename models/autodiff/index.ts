/**
 * A small reverse-mode autodiff engine over Float32Array, with Adam, for training the ranker's models in TypeScript.
 *
 * Why it exists: no JS library trains these models here (tfjs-wasm has no gradient for gather, tfjs' pure-JS backend
 * is far too slow, tfjs-node downloads a binary). The engine is deliberately micrograd-sized: tensors are plain
 * Float32Array + shape, every op is one function with a forward loop and one backward closure, `backward(loss)` walks
 * the graph in reverse topological order. Runtime-agnostic (no Node APIs; `npm run typecheck:autodiff` checks it
 * against ES2023 alone).
 *
 * How to use it (the choices that matter):
 * - Leaves: `new Parameter(name, data, shape, { sparse })` for trainable weights (initialise with an explicit `Rng` so
 *   training is a function of the seed: same seed → bit-identical weights), `constant(data, shape)` for features
 *   (validated finite once).
 * - Embedding tables are `sparse: true` Parameters read through `embedding` / `embeddingBag`: their backward records the
 *   touched rows, so `Adam` (lazy Adam on those tables) and `zeroGrad` cost O(rows in the batch), not O(table).
 * - A step is: build the loss from ops → `backward(loss)` → `opt.step()` → `opt.zeroGrad()`. Gradients accumulate
 *   until zeroed (a tensor used twice, repeated ids, or two backward calls all add up). Wrap the step in `tidy(() => …)`
 *   so its multi-megabyte buffers are recycled instead of re-allocated (fresh ones cost page faults and GC pauses);
 *   tensors made inside are released afterwards (reading them throws), so return numbers (loss.item()) or the one
 *   tensor you need. Inference goes in `noGrad` (no graph is recorded).
 * - Speed: matmuls and the row softmax of `softmaxCrossEntropy` run on WebAssembly SIMD kernels emitted at load time
 *   (wasm-kernels.ts, ~15–17 GMAC/s against ~1 for JS loops); where wasm cannot be compiled (workerd) everything falls
 *   back to JS automatically (`setGemmBackend("js")` forces it). `matmulNT` gives users·itemsᵀ logits without a
 *   transpose. Other loops are branch-free where signs are random, and live in top-level functions (kernels.ts).
 * - Retrieval: `softmaxCrossEntropy(logits, targets, { temperature, logitOffset: −log Q, candidateIds })` for in-batch
 *   sampled softmax with logQ correction and accidental-hit removal; soft targets (Float32Array) for distillation.
 *   MTML: `bceWithLogits` with a mask for missing labels and per-task weights (`perColumnMean` for a weighted sum of
 *   per-task means). MMoE: `softmaxRows` for the gates and `mixture` to combine experts.
 * - Every op validates shapes/ids/labels and throws an Error naming the op and the shapes.
 */

export {
  Tensor,
  Parameter,
  constant,
  parameter,
  backward,
  zeroGrad,
  noGrad,
  isGradEnabled,
  tidy,
  clearBufferPool,
  assertFinite,
  shapeToString,
} from "./tensor";
export type { Shape } from "./tensor";
export {
  matmul,
  matmulNT,
  addBias,
  linear,
  relu,
  sigmoid,
  tanh,
  scale,
  add,
  sub,
  mul,
  concat,
  sliceColumns,
  reshape,
  detach,
  rowDot,
  l2Normalize,
  softmaxRows,
  mixture,
  sum,
  mean,
} from "./ops";
export { expNonPositive, stableSigmoid } from "./math";
export { embedding, embeddingBag } from "./embedding";
export type { EmbeddingBagOptions } from "./embedding";
export { softmaxCrossEntropy, bceWithLogits, mse } from "./losses";
export type { SoftmaxCrossEntropyOptions, BceWithLogitsOptions } from "./losses";
export { Adam } from "./optim";
export type { AdamOptions, AdamStepInfo } from "./optim";
export { Rng, glorotUniform, heUniform, normalInit, uniformInit } from "./rng";
export { gemm, getGemmBackend, setGemmBackend, wasmGemmAvailable } from "./gemm";
export type { GemmBackend, GemmLayout } from "./gemm";
