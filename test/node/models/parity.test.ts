// The ONNX exports of the real model classes (MtmlModel, TwoTowerModel) compute what their TypeScript forward
// computes, on onnxruntime-web (the Worker's runtime, here in Node) and onnxruntime-node, within 1e-4, on rows
// written by the feature layer the Worker uses, including padding: untagged items, users with no history.
import { beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../../core/data/labels";
import type { MtmlInputs } from "../../../core/features/mtml-features";
import { userSlotIndices, type ItemTowerInputs, type UserTowerInputs } from "../../../core/features/tower-features";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import type { OnnxRuntimeAdapter } from "../../../core/inference/types";
import { itemTowerFeeds, runMtml, runTower, userTowerFeeds } from "../../../core/serving/model-runs";
import { Rng, noGrad, tidy } from "../../../models/autodiff";
import { MtmlModel, type MtmlArchitecture } from "../../../models/mtml/model";
import { takeMtmlRows } from "../../../models/mtml/rows";
import { predictMtml } from "../../../models/mtml/train";
import { ONNX_IR_VERSION, ONNX_OPSET } from "../../../models/onnx";
import { TwoTowerModel } from "../../../models/two-tower/model";
import {
  TINY_MTML,
  TINY_TOWER,
  buildTinyTraining,
  randomItemTowerInputs,
  randomMtmlInputs,
  randomUserTowerInputs,
  trainMtmlSteps,
  trainTowerSteps,
  uniformItemTowerInputs,
  uniformMtmlInputs,
  uniformUserTowerInputs,
  type TinyTraining,
} from "../../../scripts/models/tiny-models";
import { createOnnxruntimeNodeAdapter } from "../../../scripts/onnx/ort-node";
import { oneUserBatch } from "../../../scripts/pipeline/export-models";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { allZeroRows, changedParameters, maxAbsDiff, rowNorm, snapshotParameters } from "./helpers";

const PARITY = 1e-4;
const runtimes: OnnxRuntimeAdapter[] = [createNodeOrtWebAdapter(), createOnnxruntimeNodeAdapter()];
let training: TinyTraining;

beforeAll(async () => {
  training = await buildTinyTraining();
});

/** Writer-built rows (realistic, with padding cases) followed by rows spread over the whole contract. */
function mtmlRows(seed: number): MtmlInputs {
  const written = randomMtmlInputs(training, 300, seed);
  const uniform = uniformMtmlInputs(training.spec, 200, seed + 1);
  return {
    size: written.size + uniform.size,
    user: concatInt(written.user, uniform.user),
    item: concatInt(written.item, uniform.item),
    author: concatInt(written.author, uniform.author),
    categorical: concatInt(written.categorical, uniform.categorical),
    tags: concatInt(written.tags, uniform.tags),
    dense: Float32Array.from([...written.dense, ...uniform.dense]),
  };
}

function concatInt(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatUserRows(a: UserTowerInputs, b: UserTowerInputs): UserTowerInputs {
  return { size: a.size + b.size, categorical: concatInt(a.categorical, b.categorical), history: concatInt(a.history, b.history), historyAuthors: concatInt(a.historyAuthors, b.historyAuthors), dense: Float32Array.from([...a.dense, ...b.dense]) };
}

function concatItemRows(a: ItemTowerInputs, b: ItemTowerInputs): ItemTowerInputs {
  return { size: a.size + b.size, item: concatInt(a.item, b.item), author: concatInt(a.author, b.author), tags: concatInt(a.tags, b.tags), categorical: concatInt(a.categorical, b.categorical), dense: Float32Array.from([...a.dense, ...b.dense]) };
}

describe("the feature rows used below", () => {
  it("include the padding cases: untagged items, unknown users, users with an empty history", () => {
    const rows = randomMtmlInputs(training, 300, 1);
    expect(allZeroRows(rows.tags, training.spec.maxTags).length).toBeGreaterThan(20);
    expect(Array.from(rows.user).filter((u) => u === 0).length).toBeGreaterThan(20);
    expect(Array.from(rows.user).filter((u) => u !== 0).length).toBeGreaterThan(100);
    const users = randomUserTowerInputs(training, 40, 1);
    expect(allZeroRows(users.history, training.spec.tower.historyLength).length).toBeGreaterThanOrEqual(10);
    expect(allZeroRows(users.history, training.spec.tower.historyLength).length).toBeLessThan(40);
    const items = randomItemTowerInputs(training, 40, 1);
    expect(allZeroRows(items.tags, training.spec.maxTags).length).toBeGreaterThanOrEqual(10);
    // standardised and clipped, as the contract says
    expect(rows.dense.every((v) => Number.isFinite(v) && Math.abs(v) <= 10)).toBe(true);
  });
});

const MTML_VARIANTS: [string, MtmlArchitecture][] = [
  ["shared bottom", TINY_MTML],
  ["shared bottom + user id embedding", { ...TINY_MTML, userIdEmbedding: true }],
  ["MMoE, 3 experts", { ...TINY_MTML, experts: 3 }],
  ["MMoE, 3 experts + user id embedding", { ...TINY_MTML, experts: 3, userIdEmbedding: true }],
];

describe.each(MTML_VARIANTS)("MTML (%s)", (variantName, architecture) => {
  let model: MtmlModel;
  let bytes: Uint8Array;

  beforeAll(() => {
    model = new MtmlModel(training.spec, architecture, new Rng(5));
    const initial = snapshotParameters(model);
    trainMtmlSteps(model, training, 6, 5);
    const { changed } = changedParameters(model, initial);
    // every dense layer moved off its initial values (embedding rows move only where ids were seen)
    for (const p of model.parameters().filter((q) => !q.sparse)) expect(changed).toContain(p.name);
    bytes = model.toOnnx({ test: "parity" });
  });

  it("exports the documented inputs and output (opset 17, IR 8)", async () => {
    const info = readOnnxModelInfo(bytes);
    expect(info.irVersion).toBe(ONNX_IR_VERSION);
    expect(ONNX_IR_VERSION).toBe(8);
    expect(info.opsets[""]).toBe(ONNX_OPSET);
    expect(ONNX_OPSET).toBeLessThanOrEqual(17);
    expect(info.metadataProps.labels).toBe(LABELS.join(","));
    const session = await runtimes[0]!.createSession(bytes);
    const { spec } = training;
    expect(session.inputs).toEqual([
      ...(architecture.userIdEmbedding ? [{ name: "user", type: "int32", dims: ["batch"] }] : []),
      { name: "item", type: "int32", dims: ["batch"] },
      { name: "author", type: "int32", dims: ["batch"] },
      { name: "categorical", type: "int32", dims: ["batch", spec.categorical.length] },
      { name: "tags", type: "int32", dims: ["batch", spec.maxTags] },
      { name: "dense", type: "float32", dims: ["batch", spec.dense.names.length] },
    ]);
    expect(session.outputs).toEqual([{ name: "probabilities", type: "float32", dims: ["batch", LABELS.length] }]);
    await session.release();
  });

  it.each(runtimes.map((r) => [r.name, r] as const))("matches sigmoid(forward) within 1e-4 on %s", async (_runtime, runtime) => {
    const session = await runtime.createSession(bytes);
    const rows = mtmlRows(17);
    const onnx = await runMtml(session, rows);
    const ts = predictMtml(model, rows);
    const difference = maxAbsDiff(onnx, ts);
    if (process.env.MODELS_REPORT) console.log(`MTML ${variantName} on ${runtime.name}: max |ONNX − TS| ${difference.toExponential(2)} over ${rows.size} rows`);
    expect(difference).toBeLessThan(PARITY);
    // batch of one (the symbolic batch dimension) gives the same numbers
    const single = takeMtmlRows(training.spec, rows, [3]);
    expect(maxAbsDiff(await runMtml(session, single), ts.subarray(3 * LABELS.length, 4 * LABELS.length))).toBeLessThan(PARITY);
    await session.release();
  });

  it.each(runtimes.map((r) => [r.name, r] as const))("fails the run on an id outside its table on %s (ids are not clamped)", async (_runtime, runtime) => {
    const session = await runtime.createSession(bytes);
    const rows = randomMtmlInputs(training, 4, 2);
    await expect(runMtml(session, { ...rows, item: Int32Array.from([1, training.spec.vocab.items, 1, 1]) })).rejects.toThrow(/run failed/);
    await expect(runMtml(session, { ...rows, categorical: rows.categorical.map((id, i) => (i === 0 ? training.spec.vocab.categorical : id)) })).rejects.toThrow(/run failed/);
    expect((await runMtml(session, rows)).length).toBe(4 * LABELS.length); // and the session still works
    await session.release();
  });

  // the one-user layout exists for the shared bottom only; an MMoE refuses it
  if (architecture.experts === 1) {
    for (const runtime of runtimes) {
      it(`one-user layout: the same inputs, and sigmoid(forward) within 1e-4 on batches of one user, on ${runtime.name}`, async () => {
        const session = await runtime.createSession(model.toOnnx({ test: "parity" }, "one-user"));
        const perRow = await runtime.createSession(bytes);
        expect(session.inputs).toEqual(perRow.inputs);
        expect(session.outputs).toEqual(perRow.outputs);
        const rows = mtmlRows(23);
        // writer-built rows (known and unknown users) and rows spread over the whole contract
        for (const start of [0, 100, 200, 300, 400]) {
          const batch = oneUserBatch(training.spec, rows, start, 100);
          expect(maxAbsDiff(await runMtml(session, batch), predictMtml(model, batch))).toBeLessThan(PARITY);
        }
        const single = oneUserBatch(training.spec, rows, 7, 1);
        expect(maxAbsDiff(await runMtml(session, single), predictMtml(model, single))).toBeLessThan(PARITY);
        await Promise.all([session.release(), perRow.release()]);
      });
    }

    it("one-user layout: reads the user's side from row 0 only", async () => {
      const session = await runtimes[0]!.createSession(model.toOnnx({}, "one-user"));
      const batch = oneUserBatch(training.spec, mtmlRows(29), 0, 20);
      const slots = training.spec.categorical.length;
      const changed = { ...batch, user: batch.user.map((u, r) => (r === 0 ? u : (u + 1) % training.spec.vocab.users)), categorical: batch.categorical.map((id, i) => (i >= slots && i % slots === slots - 1 ? training.spec.categorical[slots - 1]!.offset : id)) };
      expect(maxAbsDiff(await runMtml(session, changed), await runMtml(session, batch))).toBe(0);
      await session.release();
    });
  } else {
    it("refuses the one-user layout (its gates read the whole input row)", () => {
      expect(() => model.toOnnx({}, "one-user")).toThrow(/shared bottom/);
    });
  }

  it("uses the user id only when it has a user embedding", async () => {
    const session = await runtimes[0]!.createSession(bytes);
    const rows = randomMtmlInputs(training, 50, 3);
    const otherUsers = { ...rows, user: rows.user.map((u) => (u + 1) % training.spec.vocab.users) };
    const difference = maxAbsDiff(await runMtml(session, rows), await runMtml(session, otherUsers));
    if (architecture.userIdEmbedding) expect(difference).toBeGreaterThan(1e-6);
    else expect(difference).toBe(0);
    await session.release();
  });
});

describe.each([["retrieval"], ["first_stage"]])("two-tower model %s", (name) => {
  let model: TwoTowerModel;
  let userBytes: Uint8Array;
  let itemBytes: Uint8Array;

  beforeAll(() => {
    model = new TwoTowerModel(name, training.spec, TINY_TOWER, new Rng(name.length));
    const initial = snapshotParameters(model);
    trainTowerSteps(model, training, 5, 9);
    const { changed } = changedParameters(model, initial);
    for (const p of model.parameters().filter((q) => !q.sparse)) expect(changed).toContain(p.name);
    userBytes = model.userTowerOnnx({ test: "parity" });
    itemBytes = model.itemTowerOnnx({ test: "parity" });
  });

  it("exports the documented inputs and outputs", async () => {
    const { spec } = training;
    const users = await runtimes[0]!.createSession(userBytes);
    expect(users.inputs).toEqual([
      { name: "categorical", type: "int32", dims: ["batch", userSlotIndices(spec).length] },
      { name: "history", type: "int32", dims: ["batch", spec.tower.historyLength] },
      { name: "history_authors", type: "int32", dims: ["batch", spec.tower.historyLength] },
      { name: "dense", type: "float32", dims: ["batch", spec.tower.userDense.names.length] },
    ]);
    expect(users.outputs).toEqual([{ name: "embedding", type: "float32", dims: ["batch", TINY_TOWER.outputDim] }]);
    const items = await runtimes[0]!.createSession(itemBytes);
    expect(items.inputs).toEqual([
      { name: "item", type: "int32", dims: ["batch"] },
      { name: "author", type: "int32", dims: ["batch"] },
      { name: "tags", type: "int32", dims: ["batch", spec.maxTags] },
      { name: "categorical", type: "int32", dims: ["batch", 3] },
      { name: "dense", type: "float32", dims: ["batch", spec.tower.itemDense.names.length] },
    ]);
    expect(items.outputs).toEqual([{ name: "embedding", type: "float32", dims: ["batch", TINY_TOWER.outputDim] }]);
    await Promise.all([users.release(), items.release()]);
  });

  it.each(runtimes.map((r) => [r.name, r] as const))("user and item towers match the TypeScript forward within 1e-4 on %s", async (_runtime, runtime) => {
    const users = concatUserRows(randomUserTowerInputs(training, 120, 4), uniformUserTowerInputs(training.spec, 80, 5));
    const items = concatItemRows(randomItemTowerInputs(training, 120, 6), uniformItemTowerInputs(training.spec, 80, 7));
    const userSession = await runtime.createSession(userBytes);
    const itemSession = await runtime.createSession(itemBytes);
    const onnxUsers = await runTower(userSession, userTowerFeeds(users), users.size);
    const onnxItems = await runTower(itemSession, itemTowerFeeds(items), items.size);
    const tsUsers = tidy(() => noGrad(() => Float32Array.from(model.userForward(users).data)));
    const tsItems = tidy(() => noGrad(() => Float32Array.from(model.itemForward(items).data)));
    const userDifference = maxAbsDiff(onnxUsers, tsUsers);
    const itemDifference = maxAbsDiff(onnxItems, tsItems);
    if (process.env.MODELS_REPORT) console.log(`${name} towers on ${runtime.name}: max |ONNX − TS| user ${userDifference.toExponential(2)}, item ${itemDifference.toExponential(2)}`);
    expect(userDifference).toBeLessThan(PARITY);
    expect(itemDifference).toBeLessThan(PARITY);
    // L2-normalised, including users with an empty history and untagged items
    const dim = TINY_TOWER.outputDim;
    for (let r = 0; r < users.size; r++) expect(rowNorm(onnxUsers, r, dim)).toBeCloseTo(1, 5);
    for (let r = 0; r < items.size; r++) expect(rowNorm(onnxItems, r, dim)).toBeCloseTo(1, 5);
    await Promise.all([userSession.release(), itemSession.release()]);
  });

  it("ignores padded history and tag ids: a padding slot adds nothing to the mean or the sum", async () => {
    const session = await runtimes[0]!.createSession(userBytes);
    const users = randomUserTowerInputs(training, 8, 8);
    const length = training.spec.tower.historyLength;
    // a user with exactly one history item, written with more trailing padding slots than a real row has
    const one = { ...users, size: 1, categorical: users.categorical.slice(0, userSlotIndices(training.spec).length), dense: users.dense.slice(0, training.spec.tower.userDense.names.length) };
    const history = new Int32Array(length);
    const authors = new Int32Array(length);
    history[0] = 1;
    authors[0] = 1;
    const a = await runTower(session, userTowerFeeds({ ...one, history, historyAuthors: authors }), 1);
    // the same item twice must give the same mean as once: padding is not counted, real ids are
    const twice = history.slice();
    const twiceAuthors = authors.slice();
    twice[1] = 1;
    twiceAuthors[1] = 1;
    const b = await runTower(session, userTowerFeeds({ ...one, history: twice, historyAuthors: twiceAuthors }), 1);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    const tsA = tidy(() => noGrad(() => Float32Array.from(model.userForward({ ...one, history, historyAuthors: authors }).data)));
    expect(maxAbsDiff(a, tsA)).toBeLessThan(PARITY);
    await session.release();
  });
});
