// Micro-benchmark of the autodiff engine: ms per training step (forward + backward + Adam), median of N runs.
//   npx tsx scripts/bench-autodiff.ts [--steps 30] [--backend wasm|js|both]
// (a) MLP, batch 512: 200 → 256 → 128 → 7, ReLU, 7-task BCE (the MTML head shape).
// (b) two-tower, batch 1024, dim 64, in-batch softmax over 1024×1024 logits with temperature and logQ offset;
//     "bare" = embeddings → L2-normalise → logits; "towers" adds id + tag-bag features and a 2-layer MLP per tower.
import {
  Adam,
  Parameter,
  Rng,
  backward,
  bceWithLogits,
  concat,
  constant,
  embedding,
  embeddingBag,
  getGemmBackend,
  glorotUniform,
  heUniform,
  l2Normalize,
  linear,
  matmulNT,
  normalInit,
  relu,
  setGemmBackend,
  softmaxCrossEntropy,
  tidy,
  wasmGemmAvailable,
  type GemmBackend,
  type Tensor,
} from "../models/autodiff";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}
const steps = Number(arg("steps", "30"));
const backendArg = arg("backend", "both");
const backends: GemmBackend[] = backendArg === "both" ? (wasmGemmAvailable() ? ["wasm", "js"] : ["js"]) : [backendArg as GemmBackend];

function layer(name: string, rng: Rng, fanIn: number, fanOut: number): [Parameter, Parameter] {
  return [new Parameter(`${name}.w`, heUniform(rng, fanIn, fanOut), [fanIn, fanOut]), new Parameter(`${name}.b`, new Float32Array(fanOut), [fanOut])];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Wall ms/step (median, min) and process CPU ms/step (median). On a shared machine the CPU time is the fairer
 * figure: it does not advance while this process waits for a core (it does include V8's GC helper threads).
 */
function time(label: string, step: () => void): number {
  const warmup = Math.max(3, Math.floor(steps / 5));
  for (let i = 0; i < warmup; i++) step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step();
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(c0);
    cpu.push((used.user + used.system) / 1000);
  }
  const med = median(wall);
  console.log(
    `${label.padEnd(44)} wall median ${med.toFixed(2).padStart(7)} ms/step (min ${Math.min(...wall).toFixed(2)}), ` +
      `cpu median ${median(cpu).toFixed(2).padStart(7)} ms/step, n=${steps}`,
  );
  return med;
}

function mlpStep(): () => void {
  const rng = new Rng(1);
  const batch = 512;
  const sizes = [200, 256, 128, 7];
  const layers = sizes.slice(1).map((out, i) => layer(`l${i}`, rng, sizes[i] as number, out));
  const opt = new Adam(layers.flat(), { lr: 1e-3 });
  const x = Float32Array.from({ length: batch * 200 }, () => rng.normal());
  const labels = Float32Array.from({ length: batch * 7 }, () => (rng.uniform() < 0.2 ? 1 : 0));
  const mask = Uint8Array.from({ length: batch * 7 }, () => (rng.uniform() < 0.9 ? 1 : 0));
  const weights = Float32Array.from([1, 1, 2, 2, 2, 3, 1]);
  return () =>
    tidy(() => {
      let h: Tensor = constant(x, [batch, 200]);
      layers.forEach(([w, b], i) => {
        h = linear(h, w, b);
        if (i < layers.length - 1) h = relu(h);
      });
      opt.zeroGrad();
      backward(bceWithLogits(h, labels, { mask, weights }));
      opt.step();
    });
}

function twoTowerStep(withTowers: boolean): () => void {
  const rng = new Rng(2);
  const batch = 1024, dim = 64, users = 30000, items = 30000, tags = 2000;
  const userTable = new Parameter("users", normalInit(rng, [users, dim], 0.05), [users, dim], { sparse: true });
  const itemTable = new Parameter("items", normalInit(rng, [items, dim], 0.05), [items, dim], { sparse: true });
  const tagTable = new Parameter("tags", normalInit(rng, [tags, 32], 0.05), [tags, 32], { sparse: true });
  const userLayers = [layer("u0", rng, dim + 32, 128), layer("u1", rng, 128, dim)];
  const itemLayers = [layer("i0", rng, dim + 32, 128), layer("i1", rng, 128, dim)];
  const params = withTowers ? [userTable, itemTable, tagTable, ...userLayers.flat(), ...itemLayers.flat()] : [userTable, itemTable];
  const opt = new Adam(params, { lr: 1e-3, clipGlobalNorm: 10 });
  const targets = Int32Array.from({ length: batch }, (_, i) => i);
  const data = new Rng(3);
  const itemFreq = Float32Array.from({ length: items }, (_, i) => 1 / (i + 10)); // Zipf-like popularity for logQ
  const freqSum = itemFreq.reduce((a, b) => a + b, 0);
  const tower = (table: Parameter, ids: Int32Array, tagIds: Int32Array, offsets: Int32Array, stack: [Parameter, Parameter][]): Tensor => {
    if (!withTowers) return l2Normalize(embedding(table, ids));
    let h: Tensor = concat([embedding(table, ids), embeddingBag(tagTable, tagIds, offsets, { mode: "mean" })]);
    h = relu(linear(h, ...(stack[0] as [Parameter, Parameter])));
    return l2Normalize(linear(h, ...(stack[1] as [Parameter, Parameter])));
  };
  const bag = () => {
    const offsets = new Int32Array(batch + 1);
    for (let b = 0; b < batch; b++) offsets[b + 1] = (offsets[b] as number) + data.int(6);
    const ids = Int32Array.from({ length: offsets[batch] as number }, () => data.int(tags));
    return { ids, offsets };
  };
  return () => {
    const userIds = Int32Array.from({ length: batch }, () => data.int(users));
    const itemIds = Int32Array.from({ length: batch }, () => Math.min(items - 1, Math.floor(Math.exp(data.uniform() * Math.log(items)))));
    const logQ = Float32Array.from(itemIds, (id) => -Math.log(((itemFreq[id] as number) / freqSum) * batch));
    const ub = bag(), ib = bag();
    tidy(() => {
      opt.zeroGrad();
      const logits = matmulNT(tower(userTable, userIds, ub.ids, ub.offsets, userLayers), tower(itemTable, itemIds, ib.ids, ib.offsets, itemLayers));
      backward(softmaxCrossEntropy(logits, targets, { temperature: 0.05, logitOffset: logQ, candidateIds: itemIds }));
      opt.step();
    });
  };
}

console.log(`node ${process.version}, gemm backends: ${backends.join(", ")}, steps=${steps}, load average ${(await import("node:os")).loadavg()[0]?.toFixed(2)} on ${(await import("node:os")).cpus().length} cores`);
const results: Record<string, Partial<Record<GemmBackend, number>>> = {};
for (const backend of backends) {
  setGemmBackend(backend);
  const record = (name: string, ms: number) => ((results[name] ??= {})[backend] = ms);
  record("mlp", time(`(a) MLP 512×[200→256→128→7] BCE [${getGemmBackend()}]`, mlpStep()));
  record("tt-bare", time(`(b) two-tower bare 1024×64 [${getGemmBackend()}]`, twoTowerStep(false)));
  record("tt-towers", time(`(b) two-tower + MLP towers 1024×64 [${getGemmBackend()}]`, twoTowerStep(true)));
}
if (backends.length === 2) {
  for (const [name, r] of Object.entries(results)) {
    if (r.wasm !== undefined && r.js !== undefined) console.log(`speed-up wasm vs js, ${name}: ${(r.js / r.wasm).toFixed(1)}×`);
  }
}
