import { LABELS } from "../data/labels";
import { CONTEXT_CATEGORICAL_SLOTS, type MtmlInputs } from "../features/mtml-features";
import type { ItemTowerInputs, UserTowerInputs } from "../features/tower-features";
import { float32Feed, int32Feed } from "../inference/feeds";
import type { Feeds, ModelSession } from "../inference/types";

/**
 * Feeds for the three models in the models/README.md contract, from the feature layer's typed inputs.
 * One place builds them, so the pipeline's checks, the evaluation and the Worker call models the same way.
 */
export function mtmlFeeds(session: Pick<ModelSession, "inputs">, inputs: MtmlInputs): Feeds {
  const batch = inputs.size;
  const all: Feeds = {
    user: int32Feed(inputs.user, [batch]),
    item: int32Feed(inputs.item, [batch]),
    author: int32Feed(inputs.author, [batch]),
    categorical: int32Feed(inputs.categorical, [batch, inputs.categorical.length / Math.max(1, batch)]),
    tags: int32Feed(inputs.tags, [batch, inputs.tags.length / Math.max(1, batch)]),
    dense: float32Feed(inputs.dense, [batch, inputs.dense.length / Math.max(1, batch)]),
  };
  return declaredOnly(session, all);
}

/** Probabilities [batch × LABELS.length], LABELS order. */
export async function runMtml(session: ModelSession, inputs: MtmlInputs): Promise<Float32Array> {
  if (inputs.size === 0) return new Float32Array(0);
  const out = await session.run(mtmlFeeds(session, inputs), ["probabilities"]);
  const probabilities = out.probabilities;
  if (!probabilities || probabilities.length !== inputs.size * LABELS.length) throw new Error(`mtml returned ${probabilities?.length ?? 0} probabilities for ${inputs.size} rows`);
  return probabilities;
}

/** A bundle's MTML sessions: the per-row model, and its one-user serving variant when the bundle has one. */
export interface MtmlSessions {
  readonly mtml: ModelSession;
  readonly mtmlOneUser?: ModelSession | undefined;
}

/**
 * Probabilities for a feed's batch, whose rows all describe one user: the one-user variant projects the
 * user's side of the input layer once instead of per row (models/README.md). It reads that side from row 0,
 * so a batch whose rows disagree on it goes to the per-row model instead, which is right for any batch.
 */
export async function runMtmlForOneUser(sessions: MtmlSessions, inputs: MtmlInputs): Promise<Float32Array> {
  const oneUser = sessions.mtmlOneUser && rowsShareUser(inputs) ? sessions.mtmlOneUser : sessions.mtml;
  return runMtml(oneUser, inputs);
}

/** Whether every row carries row 0's user id and user categorical slots (the slots after the context ones). */
export function rowsShareUser(inputs: MtmlInputs): boolean {
  const { size, user, categorical } = inputs;
  if (size === 0) return true;
  const slots = categorical.length / size;
  for (let r = 1; r < size; r++) {
    if (user[r] !== user[0]) return false;
    for (let s = CONTEXT_CATEGORICAL_SLOTS.length; s < slots; s++) if (categorical[r * slots + s] !== categorical[s]) return false;
  }
  return true;
}

export function userTowerFeeds(inputs: UserTowerInputs): Feeds {
  const batch = inputs.size;
  return {
    categorical: int32Feed(inputs.categorical, [batch, inputs.categorical.length / Math.max(1, batch)]),
    history: int32Feed(inputs.history, [batch, inputs.history.length / Math.max(1, batch)]),
    history_authors: int32Feed(inputs.historyAuthors, [batch, inputs.historyAuthors.length / Math.max(1, batch)]),
    dense: float32Feed(inputs.dense, [batch, inputs.dense.length / Math.max(1, batch)]),
  };
}

export function itemTowerFeeds(inputs: ItemTowerInputs): Feeds {
  const batch = inputs.size;
  return {
    item: int32Feed(inputs.item, [batch]),
    author: int32Feed(inputs.author, [batch]),
    tags: int32Feed(inputs.tags, [batch, inputs.tags.length / Math.max(1, batch)]),
    categorical: int32Feed(inputs.categorical, [batch, inputs.categorical.length / Math.max(1, batch)]),
    dense: float32Feed(inputs.dense, [batch, inputs.dense.length / Math.max(1, batch)]),
  };
}

/** Embeddings [batch × dim] from a tower model (output `embedding`). */
export async function runTower(session: ModelSession, feeds: Feeds, batch: number): Promise<Float32Array> {
  const out = await session.run(feeds, ["embedding"]);
  const embedding = out.embedding;
  if (!embedding || embedding.length % Math.max(1, batch) !== 0) throw new Error(`tower returned ${embedding?.length ?? 0} values for ${batch} rows`);
  return embedding;
}

function declaredOnly(session: Pick<ModelSession, "inputs">, feeds: Feeds): Feeds {
  const declared = new Set(session.inputs.map((input) => input.name));
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => declared.has(name)));
}
