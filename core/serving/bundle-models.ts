import { AnnIndex } from "../ann/ann-index";
import type { UsearchRuntime } from "../ann/runtime";
import type { UserContext } from "../features/context";
import { allocateUserTowerInputs, writeUserTowerRow } from "../features/tower-features";
import type { ModelSession, OnnxRuntimeAdapter } from "../inference/types";
import { runTower, userTowerFeeds } from "./model-runs";
import type { RankerAssets } from "./bundle-tables";

/** The bundle's models, ready to run: ONNX sessions on an injected runtime and the ANN index in wasm. */
export interface RankerModels {
  readonly mtml: ModelSession;
  /** The MTML's one-user serving variant (feeds score one user's candidates); older bundles lack it. */
  readonly mtmlOneUser?: ModelSession | undefined;
  readonly retrievalUserTower: ModelSession;
  readonly firstStageUserTower: ModelSession;
  readonly retrievalIndex: AnnIndex;
}

/**
 * Loads every model or none: when one fails, the sessions (and the index) that did load are released before the
 * error is rethrown, since their wasm memory is not garbage collected.
 */
export async function loadRankerModels(assets: RankerAssets, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime): Promise<RankerModels> {
  const { models } = assets.manifest;
  const oneUserFile = models.mtml.one_user_file;
  const settled = await Promise.allSettled([
    onnx.createSession(assets.file(models.mtml.file)),
    oneUserFile === undefined ? Promise.resolve(undefined) : onnx.createSession(assets.file(oneUserFile)),
    onnx.createSession(assets.file(models.retrieval.user_tower)),
    onnx.createSession(assets.file(models.first_stage.user_tower)),
  ]);
  const [mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower] = settled.map((result) => (result.status === "fulfilled" ? result.value : undefined));
  const sessions = { mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower };
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed !== undefined || mtml === undefined || retrievalUserTower === undefined || firstStageUserTower === undefined) {
    await releaseRankerModels(sessions);
    throw failed?.reason;
  }
  let retrievalIndex: AnnIndex;
  try {
    retrievalIndex = AnnIndex.load(usearch, assets.file(models.retrieval.index), { dimensions: models.retrieval.dim, metric: models.retrieval.metric });
  } catch (error) {
    await releaseRankerModels(sessions);
    throw error;
  }
  return { mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower, retrievalIndex };
}

/** Releases whatever of the models is present (a degraded ranker lacks some); every release is attempted. */
export async function releaseRankerModels(models: Partial<RankerModels>): Promise<void> {
  const sessions = [models.mtml, models.mtmlOneUser, models.retrievalUserTower, models.firstStageUserTower].filter((session): session is ModelSession => session !== undefined);
  const released = await Promise.allSettled(sessions.map((session) => session.release()));
  models.retrievalIndex?.dispose();
  const failed = released.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/** One user's embedding from a user tower (retrieval or first stage). */
export async function embedUser(session: ModelSession, assets: RankerAssets, user: UserContext): Promise<Float32Array> {
  const inputs = allocateUserTowerInputs(assets.spec, 1);
  writeUserTowerRow(assets.featureContext(), user, inputs, 0);
  return runTower(session, userTowerFeeds(inputs), 1);
}
