// Tiny models trained end to end: the engine must actually learn, not just pass gradient checks.
import { describe, expect, it } from "vitest";
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
  glorotUniform,
  heUniform,
  l2Normalize,
  linear,
  matmulNT,
  mixture,
  noGrad,
  normalInit,
  relu,
  sigmoid,
  softmaxCrossEntropy,
  softmaxRows,
  tanh,
} from "../../../models/autodiff";

function dense(name: string, rng: Rng, fanIn: number, fanOut: number): [Parameter, Parameter] {
  return [new Parameter(`${name}.w`, heUniform(rng, fanIn, fanOut), [fanIn, fanOut]), new Parameter(`${name}.b`, new Float32Array(fanOut), [fanOut])];
}

describe("end to end", () => {
  it("an MLP learns XOR", () => {
    const rng = new Rng(123);
    const [w1, b1] = dense("l1", rng, 2, 8);
    const w2 = new Parameter("l2.w", glorotUniform(rng, 8, 1), [8, 1]);
    const b2 = new Parameter("l2.b", new Float32Array(1), [1]);
    const x = constant(Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]), [4, 2]);
    const y = Float32Array.from([0, 1, 1, 0]);
    const opt = new Adam([w1, b1, w2, b2], { lr: 0.05 });
    const forward = () => linear(tanh(linear(x, w1, b1)), w2, b2);
    const initialLoss = bceWithLogits(noGrad(forward), y).item();
    let loss = initialLoss;
    for (let step = 0; step < 400; step++) {
      opt.zeroGrad();
      const l = bceWithLogits(forward(), y);
      loss = l.item();
      backward(l);
      opt.step();
    }
    expect(initialLoss).toBeGreaterThan(0.6);
    expect(loss).toBeLessThan(0.02);
    const p = noGrad(() => sigmoid(forward())).data;
    expect(Array.from(p, (v) => (v > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  it("a two-tower model with in-batch softmax and logQ correction learns user i → item i (recall@1)", () => {
    const n = 64, dim = 16, batch = 32;
    const rng = new Rng(7);
    const userTable = new Parameter("users", normalInit(rng, [n, dim], 0.1), [n, dim], { sparse: true });
    const itemTable = new Parameter("items", normalInit(rng, [n, dim], 0.1), [n, dim], { sparse: true });
    const [uw, ub] = dense("userTower", rng, dim, dim);
    const [iw, ib] = dense("itemTower", rng, dim, dim);
    const userTower = (ids: Int32Array) => l2Normalize(linear(relu(embedding(userTable, ids)), uw, ub));
    const itemTower = (ids: Int32Array) => l2Normalize(linear(relu(embedding(itemTable, ids)), iw, ib));
    const opt = new Adam([userTable, itemTable, uw, ub, iw, ib], { lr: 0.02 });
    const data = new Rng(8);
    // Uniform sampling: Q(item) = batch/n for every item, so the offset is a constant shift (tests the plumbing).
    const logQOffset = new Float32Array(batch).fill(-Math.log(batch / n));
    const targets = Int32Array.from({ length: batch }, (_, i) => i);
    for (let step = 0; step < 300; step++) {
      const ids = data.permutation(n).subarray(0, batch);
      opt.zeroGrad();
      const logits = matmulNT(userTower(ids), itemTower(ids));
      const loss = softmaxCrossEntropy(logits, targets, { temperature: 0.1, logitOffset: logQOffset, candidateIds: ids });
      backward(loss);
      opt.step();
    }
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const scores = noGrad(() => matmulNT(userTower(all), itemTower(all))).data;
    let hits = 0;
    for (let u = 0; u < n; u++) {
      let best = 0;
      for (let j = 1; j < n; j++) if ((scores[u * n + j] as number) > (scores[u * n + best] as number)) best = j;
      if (best === u) hits++;
    }
    expect(hits / n).toBeGreaterThanOrEqual(0.95);
  });

  it("an MMoE with tag bags learns two tasks that depend on different inputs", () => {
    const rng = new Rng(21);
    const tags = 12, dim = 6, experts = 3, hidden = 8, batch = 64;
    const tagTable = new Parameter("tags", normalInit(rng, [tags, dim], 0.3), [tags, dim], { sparse: true });
    const expertLayers = Array.from({ length: experts }, (_, e) => dense(`expert${e}`, rng, dim + 2, hidden));
    const gateLayers = [0, 1].map((t) => dense(`gate${t}`, rng, dim + 2, experts));
    const heads = [0, 1].map((t) => dense(`head${t}`, rng, hidden, 1));
    const params = [tagTable, ...expertLayers.flat(), ...gateLayers.flat(), ...heads.flat()];
    const opt = new Adam(params, { lr: 0.02 });
    const data = new Rng(22);
    // Task 0: "has tag 0 or 1 in the bag"; task 1: "dense feature 0 > 0". Bags may be empty.
    const makeBatch = () => {
      const offsets = new Int32Array(batch + 1);
      const ids: number[] = [];
      const labels = new Float32Array(batch * 2);
      const features = new Float32Array(batch * 2);
      for (let b = 0; b < batch; b++) {
        const len = data.int(4);
        let has = false;
        for (let p = 0; p < len; p++) {
          const t = data.int(tags);
          has ||= t < 2;
          ids.push(t);
        }
        offsets[b + 1] = ids.length;
        features[b * 2] = data.normal();
        features[b * 2 + 1] = data.normal();
        labels[b * 2] = has ? 1 : 0;
        labels[b * 2 + 1] = (features[b * 2] as number) > 0 ? 1 : 0;
      }
      return { ids: Int32Array.from(ids), offsets, labels, features: constant(features, [batch, 2]) };
    };
    const forward = (x: ReturnType<typeof makeBatch>) => {
      const input = concat([embeddingBag(tagTable, x.ids, x.offsets, { mode: "sum" }), x.features]);
      const expertOut = expertLayers.map(([w, b]) => relu(linear(input, w, b)));
      const logits = [0, 1].map((t) => {
        const [gw, gb] = gateLayers[t] as [Parameter, Parameter];
        const [hw, hb] = heads[t] as [Parameter, Parameter];
        return linear(mixture(softmaxRows(linear(input, gw, gb)), expertOut), hw, hb);
      });
      return concat(logits);
    };
    const evalBatch = makeBatch();
    const before = noGrad(() => bceWithLogits(forward(evalBatch), evalBatch.labels, { perColumnMean: true })).item();
    for (let step = 0; step < 300; step++) {
      const x = makeBatch();
      opt.zeroGrad();
      backward(bceWithLogits(forward(x), x.labels, { perColumnMean: true, weights: Float32Array.from([1, 1]) }));
      opt.step();
    }
    const after = noGrad(() => bceWithLogits(forward(evalBatch), evalBatch.labels, { perColumnMean: true })).item();
    expect(before).toBeGreaterThan(1.2); // ≈ 2·ln 2 for two tasks at chance
    expect(after).toBeLessThan(0.25);
  });
});
