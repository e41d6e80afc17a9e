import type { FeatureContext } from "../features/context";
import { allocateItemTowerInputs, writeItemTowerRow } from "../features/tower-features";
import type { ModelSession } from "../inference/types";
import { itemTowerFeeds, runTower } from "../serving/model-runs";

/** The bundle's two item towers, as ONNX sessions (the pipeline exports them beside the user towers). */
export interface ItemTowers {
  readonly retrieval: ModelSession;
  readonly firstStage: ModelSession;
}

export interface ItemEmbeddings {
  /** [rows × retrieval dim] */
  readonly retrieval: Float32Array;
  /** [rows × first-stage dim] */
  readonly firstStage: Float32Array;
}

/** Rows per tower run: bounds the input tensors of a large delta (a switch re-embeds all of it). */
const TOWER_BATCH = 512;

/**
 * Embeds catalogue rows with the bundle's item towers, from the same feature code the pipeline embeds the catalogue
 * with (`writeItemTowerRow`) and as of the same instant, the bundle's snapshot time: a live item's vectors sit in
 * the space of the bundle's own item embeddings, as a bundle item with its features and no impressions would.
 */
export async function embedItems(towers: ItemTowers, context: FeatureContext, rows: readonly number[], atMs: number): Promise<ItemEmbeddings> {
  const retrieval: Float32Array[] = [];
  const firstStage: Float32Array[] = [];
  for (let start = 0; start < rows.length; start += TOWER_BATCH) {
    const batch = rows.slice(start, start + TOWER_BATCH);
    const inputs = allocateItemTowerInputs(context.spec, batch.length);
    batch.forEach((row, r) => writeItemTowerRow(context, row, atMs, inputs, r));
    const feeds = itemTowerFeeds(inputs);
    retrieval.push(await runTower(towers.retrieval, feeds, batch.length));
    firstStage.push(await runTower(towers.firstStage, feeds, batch.length));
  }
  return { retrieval: concat(retrieval), firstStage: concat(firstStage) };
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The item towers' files as the pipeline names them (`models/*-item-tower.onnx`, scripts/pipeline/build-bundle.ts): the
 * Worker's bundle cache leaves them in KV, and live items read them when a delta first needs them, so an isolate
 * that never serves a live item never holds them. A bundle naming them otherwise just has them loaded with the rest.
 */
export function isItemTowerFile(path: string): boolean {
  return /(^|\/)[^/]*item-tower\.onnx$/.test(path);
}
