// Tensors and the reverse-mode graph.
//
// Every op output remembers its inputs and one closure that pushes its gradient back into theirs; `backward(loss)`
// orders the reachable nodes topologically and runs those closures from the loss down. Closures are per op, never per
// element, and each op's inner loops run over Float32Array. Gradients are only computed for nodes that depend on a
// Parameter, so constant inputs (features) cost nothing in the backward pass.

export type Shape = readonly number[];

let gradDisabledDepth = 0;

// ---- Buffer reuse across steps ---------------------------------------------------------------------------------
// A training step allocates the same buffer sizes every time (activations, their gradients, the softmax
// probabilities). Fresh multi-megabyte Float32Arrays cost page faults and, worse, V8 GCs triggered by external
// memory: a 4 MB gradient buffer took 3 ms fresh (median 9 ms with GC) against 1 ms reused. Inside `tidy`, op
// buffers come from a pool keyed by length and go back to it when the scope ends.

interface Scope {
  readonly buffers: Float32Array[];
  readonly tensors: Tensor[];
}
const scopes: Scope[] = [];
const pool = new Map<number, Float32Array[]>();
/** Enough for one step's worth of same-sized buffers; beyond this they are left to the GC. */
const POOL_BUFFERS_PER_SIZE = 32;

/**
 * @internal A buffer for an op's output, gradient or saved state. Inside a `tidy` scope it is recycled when the scope
 * ends; outside, it is a plain new Float32Array. Pass zeroed=false only when the caller overwrites every element
 * (a recycled buffer then keeps stale values instead of paying for a fill).
 */
export function allocFloat(size: number, zeroed = true): Float32Array {
  const scope = scopes[scopes.length - 1];
  if (scope === undefined) return new Float32Array(size);
  const free = pool.get(size);
  const recycled = free !== undefined && free.length > 0 ? (free.pop() as Float32Array) : null;
  const buffer = recycled === null ? new Float32Array(size) : zeroed ? recycled.fill(0) : recycled;
  scope.buffers.push(buffer);
  return buffer;
}

/**
 * Runs one unit of work (typically a training step: forward, backward, optimiser step) and then recycles every
 * buffer the ops allocated inside it. Tensors created inside are released: reading their data afterwards throws.
 * If `fn` returns a Tensor, that tensor (and its buffers) survive and belong to the enclosing scope, if any.
 * Parameters and the arrays passed to `constant` are never recycled.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { buffers: [], tensors: [] };
  scopes.push(scope);
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    scopes.pop();
    const kept = result instanceof Tensor ? result : null;
    const parent = scopes[scopes.length - 1];
    for (const t of scope.tensors) if (t !== kept) t.release();
    if (kept !== null) parent?.tensors.push(kept);
    for (const buffer of scope.buffers) {
      if (kept !== null && (buffer === kept.rawData || buffer === kept.grad)) {
        parent?.buffers.push(buffer);
        continue;
      }
      let free = pool.get(buffer.length);
      if (free === undefined) pool.set(buffer.length, (free = []));
      if (free.length < POOL_BUFFERS_PER_SIZE) free.push(buffer);
    }
  }
}

/** Drops all pooled buffers (e.g. between training different models, to return memory). */
export function clearBufferPool(): void {
  pool.clear();
}

/** Runs `fn` without recording a graph (inference, evaluation, building targets from a teacher). */
export function noGrad<T>(fn: () => T): T {
  gradDisabledDepth++;
  try {
    return fn();
  } finally {
    gradDisabledDepth--;
  }
}

/** Whether ops called now record the graph. */
export function isGradEnabled(): boolean {
  return gradDisabledDepth === 0;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join("×")}]`;
}

function sizeOf(op: string, shape: Shape): number {
  if (shape.length < 1 || shape.length > 3) throw new Error(`${op}: rank must be 1..3, got shape ${shapeToString(shape)}`);
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${shapeToString(shape)}`);
    size *= d;
  }
  return size;
}

export class Tensor {
  private readonly values: Float32Array;
  private released = false;
  readonly shape: Shape;
  readonly size: number;
  /** d(loss)/d(this), same layout as data; allocated on first use during backward. */
  grad: Float32Array | null = null;
  readonly requiresGrad: boolean;
  /** Name of the op that produced this tensor ("const", "param", "matmul", ...), for errors and debugging. */
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Adds this.grad's contribution into the inputs' grads; set by the op that created the tensor. */
  backwardFn: (() => void) | null = null;

  constructor(data: Float32Array, shape: Shape, op: string, inputs: readonly Tensor[], requiresGrad: boolean) {
    const size = sizeOf(op, shape);
    if (data.length !== size) {
      throw new Error(`${op}: data length ${data.length} does not match shape ${shapeToString(shape)} (size ${size})`);
    }
    this.values = data;
    this.shape = Object.freeze([...shape]);
    this.size = size;
    this.op = op;
    this.inputs = inputs;
    this.requiresGrad = requiresGrad;
    if (op !== "param") scopes[scopes.length - 1]?.tensors.push(this);
  }

  /** The values, row-major. Throws if the tensor was released by the `tidy` scope that created it. */
  get data(): Float32Array {
    if (this.released) {
      throw new Error(`Tensor(${this.op}, ${shapeToString(this.shape)}) was released when its tidy() scope ended; return it from the scope to keep it`);
    }
    return this.values;
  }

  /** @internal The buffer without the release check (for scope bookkeeping). */
  get rawData(): Float32Array {
    return this.values;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** @internal Called by tidy(): the buffers are about to be recycled. */
  release(): void {
    this.released = true;
    this.grad = null;
    this.backwardFn = null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element tensor (a loss). */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor from ${this.op} has shape ${shapeToString(this.shape)}, not a scalar`);
    return this.data[0] as number;
  }

  /** Back-propagates from this scalar; see `backward`. */
  backward(): void {
    backward(this);
  }

  toString(): string {
    return `Tensor(${this.op}, ${shapeToString(this.shape)})`;
  }
}

/**
 * A trainable leaf. `sparse` marks an embedding table (rank 2) whose gradient is row-sparse: gathers record which rows
 * they touched, so zeroGrad and the optimiser only visit those rows. Any dense use of a sparse table (e.g. a matmul
 * against it) marks every row touched, so results stay correct, just not cheaper.
 */
export class Parameter extends Tensor {
  readonly name: string;
  readonly sparse: boolean;
  private touchedMark: Uint8Array | null = null;
  private touchedList: Int32Array | null = null;
  private touchedCount = 0;
  private allTouched = false;

  constructor(name: string, data: Float32Array, shape: Shape, options: { sparse?: boolean } = {}) {
    super(data, shape, "param", [], true);
    this.name = name;
    this.sparse = options.sparse === true;
    if (this.sparse && shape.length !== 2) {
      throw new Error(`Parameter ${name}: a sparse (embedding) parameter must have rank 2, got ${shapeToString(shape)}`);
    }
    assertFinite(`Parameter ${name}`, data, shape);
  }

  get rows(): number {
    return this.shape[0] as number;
  }

  /** Rows with a nonzero gradient since the last zeroGrad, or "all" when the gradient is dense. */
  touchedRows(): Int32Array | "all" {
    if (!this.sparse || this.allTouched) return "all";
    return (this.touchedList ?? new Int32Array(0)).subarray(0, this.touchedCount);
  }

  /** @internal Gradient buffer for a dense contribution; on a sparse table this marks every row. */
  denseGrad(): Float32Array {
    if (this.sparse) this.allTouched = true;
    return (this.grad ??= new Float32Array(this.size));
  }

  /** @internal Gradient buffer for a row-wise contribution; the caller marks rows with markRow. */
  rowGrad(): Float32Array {
    return (this.grad ??= new Float32Array(this.size));
  }

  /** @internal */
  markRow(row: number): void {
    if (!this.sparse || this.allTouched) return;
    const mark = (this.touchedMark ??= new Uint8Array(this.rows));
    if (mark[row] === 1) return;
    mark[row] = 1;
    let list = this.touchedList;
    if (list === null || this.touchedCount === list.length) {
      const grown = new Int32Array(Math.min(this.rows, Math.max(64, this.touchedCount * 2)));
      if (list !== null) grown.set(list);
      list = this.touchedList = grown;
    }
    list[this.touchedCount++] = row;
  }

  zeroGrad(): void {
    const grad = this.grad;
    if (grad === null) return;
    if (this.sparse && !this.allTouched && this.touchedList !== null && this.touchedMark !== null) {
      const cols = this.shape[1] as number;
      for (let t = 0; t < this.touchedCount; t++) {
        const row = this.touchedList[t] as number;
        grad.fill(0, row * cols, row * cols + cols);
        this.touchedMark[row] = 0;
      }
    } else {
      grad.fill(0);
      this.touchedMark?.fill(0);
    }
    this.touchedCount = 0;
    this.allTouched = false;
  }
}

/** Throws if any entry is NaN or ±Infinity, naming the op, shape and first bad index. */
export function assertFinite(op: string, data: Float32Array, shape: Shape): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) throw new Error(`${op}: non-finite value ${v} at flat index ${i} of ${shapeToString(shape)}`);
  }
}

/** A non-trainable input (features, labels used as tensors). Validated to be finite once, here. */
export function constant(data: Float32Array | readonly number[], shape?: Shape): Tensor {
  const array = data instanceof Float32Array ? data : Float32Array.from(data);
  const resolved = shape ?? [array.length];
  const t = new Tensor(array, resolved, "const", [], false);
  assertFinite("constant", array, resolved);
  return t;
}

/** Convenience: a named trainable tensor. */
export function parameter(name: string, data: Float32Array, shape: Shape, options: { sparse?: boolean } = {}): Parameter {
  return new Parameter(name, data, shape, options);
}

/** @internal Creates an op's output; it records a graph edge only if grad is enabled and some input needs a gradient. */
export function opResult(op: string, data: Float32Array, shape: Shape, inputs: readonly Tensor[]): Tensor {
  let requiresGrad = false;
  if (gradDisabledDepth === 0) for (const t of inputs) requiresGrad ||= t.requiresGrad;
  return new Tensor(data, shape, op, requiresGrad ? inputs : [], requiresGrad);
}

/** @internal The gradient buffer to accumulate a dense contribution into (allocated zeroed on first use). */
export function gradOf(t: Tensor): Float32Array {
  if (t instanceof Parameter) return t.denseGrad();
  return (t.grad ??= allocFloat(t.size));
}

/** Inputs before outputs, restricted to nodes that need a gradient. Iterative so deep graphs cannot overflow. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: Tensor[] = [root];
  const nextInput: number[] = [0];
  while (stack.length > 0) {
    const top = stack.length - 1;
    const node = stack[top] as Tensor;
    const index = nextInput[top] as number;
    if (index < node.inputs.length) {
      nextInput[top] = index + 1;
      const child = node.inputs[index] as Tensor;
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push(child);
        nextInput.push(0);
      }
    } else {
      stack.pop();
      nextInput.pop();
      order.push(node);
    }
  }
  return order;
}

/**
 * Accumulates d(loss)/d(p) into every Parameter p the scalar `loss` depends on (call zeroGrad between steps).
 * Intermediate gradients are recomputed from scratch on each call, so calling backward twice doubles parameter grads.
 */
export function backward(loss: Tensor): void {
  if (loss.size !== 1) {
    throw new Error(`backward: loss must have exactly one element, got ${shapeToString(loss.shape)} from ${loss.op}`);
  }
  if (!loss.requiresGrad) {
    throw new Error(`backward: loss (from ${loss.op}) does not depend on any Parameter, or was built under noGrad`);
  }
  if (loss.isReleased) throw new Error(`backward: loss (from ${loss.op}) was released by its tidy() scope`);
  const order = topologicalOrder(loss);
  for (const node of order) {
    if (node.isReleased) throw new Error(`backward: ${node.toString()} in the graph was released by its tidy() scope`);
    if (!(node instanceof Parameter)) node.grad = null;
  }
  gradOf(loss)[0] = 1;
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i] as Tensor;
    if (node.backwardFn !== null && node.grad !== null) node.backwardFn();
  }
}

/** Zeroes the gradients of the given parameters (only touched rows for sparse tables). */
export function zeroGrad(params: Iterable<Parameter>): void {
  for (const p of params) p.zeroGrad();
}
