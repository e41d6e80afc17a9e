import { AnnIndex } from "../ann/ann-index";
import type { UsearchRuntime } from "../ann/runtime";
import type { UserContext } from "../features/context";
import { allocateUserTowerInputs, writeUserTowerRow } from "../features/tower-features";
import type { ModelSession, OnnxRuntimeAdapter } from "../inference/types";
import { runTower, userTowerFeeds } from "./model-runs";
import type { RankerAssets } from "./ranker-assets";

/** The bundle's models, ready to run: ONNX sessions on an injected runtime and the ANN index in wasm. */
export interface RankerModels {
  readonly mtml: ModelSession;
  /** The MTML's one-user serving variant (feeds score one user's candidates); older bundles lack it. */
  readonly mtmlOneUser?: ModelSession | undefined;
  readonly retrievalUserTower: ModelSession;
  readonly firstStageUserTower: ModelSession;
  readonly retrievalIndex: AnnIndex;
}

export async function loadRankerModels(assets: RankerAssets, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime): Promise<RankerModels> {
  const { models } = assets.manifest;
  const oneUserFile = models.mtml.one_user_file;
  const [mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower] = await Promise.all([
    onnx.createSession(assets.file(models.mtml.file)),
    oneUserFile === undefined ? undefined : onnx.createSession(assets.file(oneUserFile)),
    onnx.createSession(assets.file(models.retrieval.user_tower)),
    onnx.createSession(assets.file(models.first_stage.user_tower)),
  ]);
  const retrievalIndex = AnnIndex.load(usearch, assets.file(models.retrieval.index), { dimensions: models.retrieval.dim, metric: models.retrieval.metric });
  return { mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower, retrievalIndex };
}

export async function releaseRankerModels(models: RankerModels): Promise<void> {
  await Promise.all([models.mtml.release(), models.mtmlOneUser?.release(), models.retrievalUserTower.release(), models.firstStageUserTower.release()]);
  models.retrievalIndex.dispose();
}

/** One user's embedding from a user tower (retrieval or first stage). */
export async function embedUser(session: ModelSession, assets: RankerAssets, user: UserContext): Promise<Float32Array> {
  const inputs = allocateUserTowerInputs(assets.spec, 1);
  writeUserTowerRow(assets.featureContext(), user, inputs, 0);
  return runTower(session, userTowerFeeds(inputs), 1);
}
