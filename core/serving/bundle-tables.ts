import { BundleError } from "../bundle/errors";
import type { ItemTable, UserTable } from "../data/dataset";
import { parseServingConfig, type ServingConfig } from "../config/serving";
import { userContextOf, type FeatureContext, type UserContext } from "../features/context";
import type { EngagementCounters } from "../features/counters";
import type { Engagement } from "../features/engagement";
import type { FeatureSpec } from "../features/spec";
import { UserActivity } from "../features/user-activity";
import {
  ASSET_FILES,
  decodeCatalogue,
  decodeCounters,
  decodeHistories,
  decodeItemList,
  decodeNeighbours,
  decodeUsers,
  historyOf,
  type Neighbours,
  type UserHistories,
} from "./assets";
import { relativeExposure } from "../ranking/value-model";
import { parseServingManifest, type ServingManifest } from "./bundle-manifest";
import { decodeEmbeddings, type EmbeddingFormat } from "./embedding-codec";
import { itemShardsProblem } from "../shards/layout";

/**
 * A model bundle decoded into what serving reads: the feature spec, the catalogue, users with their
 * training-window history, counters as of the end of training, lists, item embeddings and the models' bytes.
 * The same object backs the Worker, the evaluation harness and the benchmarks.
 */
export class BundleTables {
  /** The catalogue's mean decayed impressions as of `asOfMs`: what exposure is measured against (value models). */
  readonly meanDecayedImpressions: number;

  private constructor(
    readonly manifest: ServingManifest,
    readonly spec: FeatureSpec,
    readonly config: ServingConfig,
    readonly items: ItemTable,
    readonly users: UserTable,
    readonly itemEmbeddingRow: Int32Array,
    readonly authorEmbeddingRow: Int32Array,
    readonly userEmbeddingRow: Int32Array,
    readonly histories: UserHistories,
    readonly itemCounters: EngagementCounters,
    readonly authorCounters: EngagementCounters,
    readonly popular: { items: Int32Array; scores: Float32Array },
    readonly cooccurrence: Neighbours,
    readonly retrievalItemEmbeddings: Float32Array,
    readonly firstStageItemEmbeddings: Float32Array,
    /** [authors × dim] account embeddings (zero rows = none), when the bundle has them. */
    readonly accountEmbeddings: { readonly vectors: Float32Array; readonly dim: number } | undefined,
    readonly files: ReadonlyMap<string, Uint8Array>,
  ) {
    let total = 0;
    for (let item = 0; item < itemCounters.size; item++) total += itemCounters.decayedImpressions[item] as number;
    this.meanDecayedImpressions = itemCounters.size > 0 ? total / itemCounters.size : 0;
  }

  static decode(manifestValue: unknown, files: ReadonlyMap<string, Uint8Array>): BundleTables {
    const manifest = parseServingManifest(manifestValue);
    const file = (path: string) => {
      const bytes = files.get(path);
      if (!bytes) throw new BundleError(`bundle ${manifest.version} is incomplete`, [`missing ${path}`]);
      return bytes;
    };
    const catalogue = decodeCatalogue(file(ASSET_FILES.catalogue));
    const { users, userEmbeddingRow } = decodeUsers(file(ASSET_FILES.users));
    const itemCount = catalogue.items.ids.size;
    const counters = decodeCounters(file(ASSET_FILES.counters), itemCount, catalogue.items.authors.size);
    const config = parseServingConfig(JSON.parse(new TextDecoder().decode(file(manifest.serving_config))), manifest.serving_config);
    const embeddings = (path: string, dim: number, format: EmbeddingFormat, rows = itemCount) => {
      try {
        return decodeEmbeddings(file(path), rows, dim, format);
      } catch (error) {
        if (error instanceof BundleError) throw error;
        throw new BundleError(`bundle ${manifest.version} is inconsistent`, [`${path}: ${(error as Error).message}`]);
      }
    };
    const shards = manifest.models.retrieval.shards;
    const shardsProblem = shards && itemShardsProblem(shards, itemCount);
    if (shardsProblem) throw new BundleError(`bundle ${manifest.version} is inconsistent`, [`models.retrieval.shards: ${shardsProblem}`]);
    const accounts = manifest.models.accounts;
    return new BundleTables(
      manifest,
      manifest.feature_spec,
      config,
      catalogue.items,
      users,
      catalogue.itemEmbeddingRow,
      catalogue.authorEmbeddingRow,
      userEmbeddingRow,
      decodeHistories(file(ASSET_FILES.history), users.ids.size, itemCount),
      counters.items,
      counters.authors,
      decodeItemList(file(ASSET_FILES.popular), ASSET_FILES.popular, itemCount),
      decodeNeighbours(file(ASSET_FILES.cooccurrence), itemCount),
      embeddings(manifest.models.retrieval.item_embeddings, manifest.models.retrieval.dim, manifest.models.retrieval.item_embeddings_format),
      embeddings(manifest.models.first_stage.item_embeddings, manifest.models.first_stage.dim, manifest.models.first_stage.item_embeddings_format),
      accounts ? { vectors: embeddings(accounts.embeddings, accounts.dim, accounts.embeddings_format, catalogue.items.authors.size), dim: accounts.dim } : undefined,
      files,
    );
  }

  /**
   * These tables over a longer catalogue: live items (core/live-items) appended after the bundle's own rows, with
   * their embeddings and counters. What is keyed by users or authors (histories, author counters, account embeddings)
   * and the files are the bundle's own, shared, so a view costs only its item columns.
   */
  static withCatalogue(
    base: BundleTables,
    catalogue: Pick<BundleTables, "items" | "itemEmbeddingRow" | "itemCounters" | "popular" | "cooccurrence" | "retrievalItemEmbeddings" | "firstStageItemEmbeddings">,
  ): BundleTables {
    return new BundleTables(
      base.manifest,
      base.spec,
      base.config,
      catalogue.items,
      base.users,
      catalogue.itemEmbeddingRow,
      base.authorEmbeddingRow,
      base.userEmbeddingRow,
      base.histories,
      catalogue.itemCounters,
      base.authorCounters,
      catalogue.popular,
      catalogue.cooccurrence,
      catalogue.retrievalItemEmbeddings,
      catalogue.firstStageItemEmbeddings,
      base.accountEmbeddings,
      base.files,
    );
  }

  get version(): string {
    return this.manifest.version;
  }

  /** The instant the bundle's counters and histories describe (end of its training window). */
  get asOfMs(): number {
    return this.manifest.data.train_end_ms;
  }

  file(path: string): Uint8Array {
    const bytes = this.files.get(path);
    if (!bytes) throw new BundleError(`bundle ${this.version} is incomplete`, [`missing ${path}`]);
    return bytes;
  }

  /** The item's decayed impressions over the catalogue's mean: exposure as a share, whatever the traffic. */
  relativeExposure(item: number): number {
    return relativeExposure(this.itemCounters.decayedImpressions[item] as number, this.meanDecayedImpressions);
  }

  featureContext(): FeatureContext {
    return {
      spec: this.spec,
      catalogue: this.items,
      itemEmbeddingRow: this.itemEmbeddingRow,
      authorEmbeddingRow: this.authorEmbeddingRow,
      itemCounters: this.itemCounters,
      authorCounters: this.authorCounters,
    };
  }

  /**
   * These tables with other item and author counters (the bundle's advanced to a request's day, with the real-time
   * impressions since: core/features/live-counters.ts); everything else is shared, and the exposure mean is taken
   * over the new counters, so a share stays a share of the same instant.
   */
  withCounters(itemCounters: EngagementCounters, authorCounters: EngagementCounters): BundleTables {
    if (itemCounters.size !== this.itemCounters.size || authorCounters.size !== this.authorCounters.size) {
      throw new Error(`bundle ${this.version}: counters for ${itemCounters.size} items and ${authorCounters.size} authors do not fit ${this.itemCounters.size} and ${this.authorCounters.size}`);
    }
    return new BundleTables(
      this.manifest,
      this.spec,
      this.config,
      this.items,
      this.users,
      this.itemEmbeddingRow,
      this.authorEmbeddingRow,
      this.userEmbeddingRow,
      this.histories,
      itemCounters,
      authorCounters,
      this.popular,
      this.cooccurrence,
      this.retrievalItemEmbeddings,
      this.firstStageItemEmbeddings,
      this.accountEmbeddings,
      this.files,
    );
  }

  /**
   * A user as feature code sees them: their features and training history from the bundle (when known),
   * followed by `recent` real-time engagements (time-ordered, after the bundle's window).
   */
  userContext(user: number | undefined, recent: readonly Engagement[] = []): UserContext {
    const activity = new UserActivity(this.items, { historyLength: this.spec.historyLength });
    if (user !== undefined) for (const event of historyOf(this.histories, user)) activity.add(event);
    for (const event of recent) activity.add(event);
    return userContextOf(this.users, this.userEmbeddingRow, user, activity);
  }
}
