/**
 * The committed model fixtures in test/fixtures/models/: a tiny MTML (fp32 and the quantization variant the
 * pipeline serves by default) and a retrieval user tower, trained for a few steps on a synthetic data set with a
 * spec fitted by the real feature code, plus cases.json with input rows written by the feature layer and the
 * TypeScript forward's outputs. test/worker/models.test.ts runs them in workerd; test/node/models/fixtures.test.ts
 * rebuilds them and compares bytes, so they cannot go stale. Regenerate with `npm run models:fixtures`.
 */
import { hashBytes } from "../../core/bundle/manifest";
import type { MtmlInputs } from "../../core/features/mtml-features";
import type { FeatureSpec } from "../../core/features/spec";
import type { UserTowerInputs } from "../../core/features/tower-features";
import { Rng, noGrad, tidy } from "../../models/autodiff";
import { MtmlModel, type MtmlArchitecture } from "../../models/mtml/model";
import { predictMtml } from "../../models/mtml/train";
import { quantizeDynamicInt8 } from "../../models/onnx/quantize";
import { TwoTowerModel } from "../../models/two-tower/model";
import { TINY_TOWER, buildTinyTraining, randomMtmlInputs, randomUserTowerInputs, trainMtmlSteps, trainTowerSteps } from "./tiny-models";

/** Files in test/fixtures/models/ (".bin" so wrangler and vitest-pool-workers import the models as ArrayBuffers). */
export const MODEL_FIXTURE_FILES = {
  mtmlFp32: "mtml.fp32.onnx.bin",
  /** The pipeline's default `--quantization` (scripts/pipeline.ts). */
  mtmlServed: "mtml.dynamic-int8-fp32-dense.onnx.bin",
  userTower: "retrieval-user-tower.fp32.onnx.bin",
  cases: "cases.json",
} as const;

/** Big enough that every hidden MatMul has ≥ 256 weights, so the quantizer really rewrites them. */
export const FIXTURE_MTML_ARCHITECTURE: MtmlArchitecture = { idDim: 4, categoricalDim: 3, tagDim: 3, hidden: [32, 16], experts: 1, userIdEmbedding: false };
const SEED = 4;

/** What cases.json holds; arrays are row-major, as the feeds take them. */
export interface ModelFixtureCases {
  readonly generated_by: string;
  readonly feature_spec: FeatureSpec;
  /** SHA-256 of JSON.stringify(feature_spec); the models carry it as metadata `feature_spec_sha256`. */
  readonly feature_spec_sha256: string;
  readonly mtml: {
    readonly architecture: MtmlArchitecture;
    readonly served_quantization: "dynamic-int8-fp32-dense";
    readonly inputs: { size: number; user: number[]; item: number[]; author: number[]; categorical: number[]; tags: number[]; dense: number[] };
    /** sigmoid(forward) of the TypeScript model, [size × 7] in LABELS order. */
    readonly probabilities: number[];
  };
  readonly user_tower: {
    readonly output_dim: number;
    readonly inputs: { size: number; categorical: number[]; history: number[]; history_authors: number[]; dense: number[] };
    /** The TypeScript user tower's L2-normalised output, [size × output_dim]. */
    readonly embedding: number[];
  };
}

export async function buildModelFixtureFiles(): Promise<Record<string, Uint8Array>> {
  const training = await buildTinyTraining();
  const { spec } = training;
  const specHash = await hashBytes(new TextEncoder().encode(JSON.stringify(spec)));
  const metadata = { feature_spec_sha256: specHash, seed: String(SEED), train_end: "fixture" };

  const mtml = new MtmlModel(spec, FIXTURE_MTML_ARCHITECTURE, new Rng(SEED));
  trainMtmlSteps(mtml, training, 6, SEED);
  const mtmlFp32 = mtml.toOnnx(metadata);
  const denseInputNodes = mtml.experts.map((expert) => `${expert.layers[0]?.name}.dense/MatMul`);
  const mtmlServed = quantizeDynamicInt8(mtmlFp32, { excludeNodes: denseInputNodes }).bytes;
  const mtmlRows = randomMtmlInputs(training, 32, SEED);

  const retrieval = new TwoTowerModel("retrieval", spec, TINY_TOWER, new Rng(SEED + 1));
  trainTowerSteps(retrieval, training, 5, SEED + 1);
  const userTower = retrieval.userTowerOnnx(metadata);
  const userRows = randomUserTowerInputs(training, 12, SEED);

  const cases: ModelFixtureCases = {
    generated_by: "scripts/models/write-fixtures.ts (npm run models:fixtures); do not edit",
    feature_spec: spec,
    feature_spec_sha256: specHash,
    mtml: { architecture: FIXTURE_MTML_ARCHITECTURE, served_quantization: "dynamic-int8-fp32-dense", inputs: plainMtmlInputs(mtmlRows), probabilities: Array.from(predictMtml(mtml, mtmlRows)) },
    user_tower: {
      output_dim: TINY_TOWER.outputDim,
      inputs: plainUserInputs(userRows),
      embedding: tidy(() => noGrad(() => Array.from(retrieval.userForward(userRows).data))),
    },
  };
  return {
    [MODEL_FIXTURE_FILES.mtmlFp32]: mtmlFp32,
    [MODEL_FIXTURE_FILES.mtmlServed]: mtmlServed,
    [MODEL_FIXTURE_FILES.userTower]: userTower,
    [MODEL_FIXTURE_FILES.cases]: new TextEncoder().encode(`${JSON.stringify(cases)}\n`),
  };
}

function plainMtmlInputs(inputs: MtmlInputs): ModelFixtureCases["mtml"]["inputs"] {
  return { size: inputs.size, user: Array.from(inputs.user), item: Array.from(inputs.item), author: Array.from(inputs.author), categorical: Array.from(inputs.categorical), tags: Array.from(inputs.tags), dense: Array.from(inputs.dense) };
}

function plainUserInputs(inputs: UserTowerInputs): ModelFixtureCases["user_tower"]["inputs"] {
  return { size: inputs.size, categorical: Array.from(inputs.categorical), history: Array.from(inputs.history), history_authors: Array.from(inputs.historyAuthors), dense: Array.from(inputs.dense) };
}
