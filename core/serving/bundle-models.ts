import { AnnIndex } from "../ann/ann-index";
import type { UsearchRuntime } from "../ann/runtime";
import type { UserContext } from "../features/context";
import { allocateUserTowerInputs, writeUserTowerRow } from "../features/tower-features";
import type { ModelSession, OnnxRuntimeAdapter } from "../inference/types";
import { runTower, userTowerFeeds } from "./model-runs";
import type { BundleTables } from "./bundle-tables";

/** The bundle's models, ready to run: ONNX sessions on an injected runtime and the ANN index in wasm. */
export interface BundleModels {
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
export async function loadBundleModels(tables: BundleTables, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime): Promise<BundleModels> {
  const { models } = tables.manifest;
  const oneUserFile = models.mtml.one_user_file;
  const settled = await Promise.allSettled([
    onnx.createSession(tables.file(models.mtml.file)),
    oneUserFile === undefined ? Promise.resolve(undefined) : onnx.createSession(tables.file(oneUserFile)),
    onnx.createSession(tables.file(models.retrieval.user_tower)),
    onnx.createSession(tables.file(models.first_stage.user_tower)),
  ]);
  const [mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower] = settled.map((result) => (result.status === "fulfilled" ? result.value : undefined));
  const sessions = { mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower };
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed !== undefined || mtml === undefined || retrievalUserTower === undefined || firstStageUserTower === undefined) {
    await releaseBundleModels(sessions);
    throw failed?.reason;
  }
  let retrievalIndex: AnnIndex;
  try {
    retrievalIndex = AnnIndex.load(usearch, tables.file(models.retrieval.index), { dimensions: models.retrieval.dim, metric: models.retrieval.metric });
  } catch (error) {
    await releaseBundleModels(sessions);
    throw error;
  }
  return { mtml, mtmlOneUser, retrievalUserTower, firstStageUserTower, retrievalIndex };
}

/** Releases whatever of the models is present (a degraded bundle lacks some); every release is attempted. */
export async function releaseBundleModels(models: Partial<BundleModels>): Promise<void> {
  const sessions = [models.mtml, models.mtmlOneUser, models.retrievalUserTower, models.firstStageUserTower].filter((session): session is ModelSession => session !== undefined);
  const released = await Promise.allSettled(sessions.map((session) => session.release()));
  models.retrievalIndex?.dispose();
  const failed = released.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/** One user's embedding from a user tower (retrieval or first stage). */
export async function embedUser(session: ModelSession, tables: BundleTables, user: UserContext): Promise<Float32Array> {
  const inputs = allocateUserTowerInputs(tables.spec, 1);
  writeUserTowerRow(tables.featureContext(), user, inputs, 0);
  return runTower(session, userTowerFeeds(inputs), 1);
}
