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

/** What opening a bundle's models gave: the models that loaded, why the others did not, and each step's time. */
export interface BundleModelsLoad {
  readonly models: Partial<BundleModels>;
  /** One line per model that failed, naming it. */
  readonly problems: readonly string[];
  /** ms per step, in load order (the first session's time includes the ONNX runtime's own start). */
  readonly stepMs: Readonly<Partial<Record<keyof BundleModels, number>>>;
}

/**
 * Loads the models one step after another (one thread runs them all in an isolate, so parallel creation would not be
 * faster) and times each step. A model that fails is named in `problems` and only removes the stage that needs it;
 * what did load is the caller's to release (`releaseBundleModels`), since wasm memory is not garbage collected.
 */
export async function loadBundleModels(tables: BundleTables, onnx: OnnxRuntimeAdapter, usearch: UsearchRuntime): Promise<BundleModelsLoad> {
  const { models: files } = tables.manifest;
  const oneUserFile = files.mtml.one_user_file;
  const steps: [keyof BundleModels, () => Promise<BundleModels[keyof BundleModels]> | BundleModels[keyof BundleModels]][] = [
    ["mtml", () => onnx.createSession(tables.file(files.mtml.file))],
    ...(oneUserFile === undefined ? [] : [["mtmlOneUser", () => onnx.createSession(tables.file(oneUserFile))] as [keyof BundleModels, () => Promise<ModelSession>]]),
    ["retrievalUserTower", () => onnx.createSession(tables.file(files.retrieval.user_tower))],
    ["firstStageUserTower", () => onnx.createSession(tables.file(files.first_stage.user_tower))],
    ["retrievalIndex", () => AnnIndex.load(usearch, tables.file(files.retrieval.index), { dimensions: files.retrieval.dim, metric: files.retrieval.metric })],
  ];
  const models: { -readonly [K in keyof BundleModels]?: BundleModels[K] } = {};
  const problems: string[] = [];
  const stepMs: Partial<Record<keyof BundleModels, number>> = {};
  for (const [key, load] of steps) {
    const started = performance.now();
    try {
      (models as Record<string, unknown>)[key] = await load();
    } catch (error) {
      problems.push(`model ${key} unavailable: ${(error as Error).message}`);
    } finally {
      stepMs[key] = performance.now() - started;
    }
  }
  return { models, problems, stepMs };
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
