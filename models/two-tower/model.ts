import type { FeatureSpec } from "../../core/features/spec";
import { ITEM_TOWER_SLOTS, userSlotIndices, type ItemTowerInputs, type UserTowerInputs } from "../../core/features/tower-features";
import { concat, constant, l2Normalize, reshape, type Parameter, type Rng, type Tensor } from "../autodiff";
import { OnnxGraphBuilder, type TensorName } from "../onnx/graph-builder";
import { EmbeddingTable, Mlp, type Module } from "../nn/layers";
import { denseNode } from "../mtml/model";

export interface TowerArchitecture {
  /** Width of the L2-normalised output embeddings. */
  readonly outputDim: number;
  readonly idDim: number;
  readonly categoricalDim: number;
  readonly tagDim: number;
  readonly hidden: readonly number[];
}

export const DEFAULT_TOWER_ARCHITECTURE: TowerArchitecture = { outputDim: 64, idDim: 32, categoricalDim: 8, tagDim: 16, hidden: [256] };

/**
 * A two-tower model: a user tower (user categorical features, mean bags of recently engaged items and their
 * authors, user counters) and an item tower (item id, author, tags, duration, type, age, item counters),
 * each ending in an L2-normalised embedding, so relevance is a dot product. The retrieval model and the
 * distilled first-stage ranker are both instances, trained on different labels.
 */
export class TwoTowerModel implements Module {
  readonly userCategorical: EmbeddingTable;
  readonly historyItems: EmbeddingTable;
  readonly historyAuthors: EmbeddingTable;
  readonly userMlp: Mlp;
  readonly itemIds: EmbeddingTable;
  readonly itemAuthors: EmbeddingTable;
  readonly itemTags: EmbeddingTable;
  readonly itemCategorical: EmbeddingTable;
  readonly itemMlp: Mlp;
  private readonly userSlots: number;

  constructor(readonly name: string, readonly spec: FeatureSpec, readonly architecture: TowerArchitecture, rng: Rng) {
    const { idDim, categoricalDim, tagDim, hidden, outputDim } = architecture;
    this.userSlots = userSlotIndices(spec).length;
    this.userCategorical = new EmbeddingTable(`${name}.user_categorical`, spec.vocab.categorical, categoricalDim, rng);
    this.historyItems = new EmbeddingTable(`${name}.history_items`, spec.vocab.items, idDim, rng);
    this.historyAuthors = new EmbeddingTable(`${name}.history_authors`, spec.vocab.authors, idDim, rng);
    const userWidth = this.userSlots * categoricalDim + 2 * idDim + spec.tower.userDense.names.length;
    this.userMlp = new Mlp(`${name}.user_mlp`, [userWidth, ...hidden, outputDim], rng);
    this.itemIds = new EmbeddingTable(`${name}.item_ids`, spec.vocab.items, idDim, rng);
    this.itemAuthors = new EmbeddingTable(`${name}.item_authors`, spec.vocab.authors, idDim, rng);
    this.itemTags = new EmbeddingTable(`${name}.item_tags`, spec.vocab.tags, tagDim, rng);
    this.itemCategorical = new EmbeddingTable(`${name}.item_categorical`, spec.vocab.categorical, categoricalDim, rng);
    const itemWidth = 2 * idDim + tagDim + ITEM_TOWER_SLOTS.length * categoricalDim + spec.tower.itemDense.names.length;
    this.itemMlp = new Mlp(`${name}.item_mlp`, [itemWidth, ...hidden, outputDim], rng);
  }

  parameters(): Parameter[] {
    return [this.userCategorical, this.historyItems, this.historyAuthors, this.userMlp, this.itemIds, this.itemAuthors, this.itemTags, this.itemCategorical, this.itemMlp].flatMap((m) => m.parameters());
  }

  userForward(inputs: UserTowerInputs): Tensor {
    const batch = inputs.size;
    const history = this.spec.tower.historyLength;
    return l2Normalize(this.userMlp.forward(concat([
      reshape(this.userCategorical.lookup(inputs.categorical), [batch, this.userSlots * this.architecture.categoricalDim]),
      this.historyItems.bag(inputs.history, batch, history, "mean"),
      this.historyAuthors.bag(inputs.historyAuthors, batch, history, "mean"),
      constant(inputs.dense, [batch, this.spec.tower.userDense.names.length]),
    ])));
  }

  itemForward(inputs: ItemTowerInputs): Tensor {
    const batch = inputs.size;
    return l2Normalize(this.itemMlp.forward(concat([
      this.itemIds.lookup(inputs.item),
      this.itemAuthors.lookup(inputs.author),
      this.itemTags.bag(inputs.tags, batch, this.spec.maxTags, "sum"),
      reshape(this.itemCategorical.lookup(inputs.categorical), [batch, ITEM_TOWER_SLOTS.length * this.architecture.categoricalDim]),
      constant(inputs.dense, [batch, this.spec.tower.itemDense.names.length]),
    ])));
  }

  /** The user tower as ONNX; output `embedding` [batch × outputDim]. */
  userTowerOnnx(metadata: Record<string, string>): Uint8Array {
    const g = new OnnxGraphBuilder(`${this.name}_user_tower`);
    const { spec, architecture } = this;
    const history = spec.tower.historyLength;
    const categorical = g.input("categorical", "int32", ["batch", this.userSlots]);
    const items = g.input("history", "int32", ["batch", history]);
    const authors = g.input("history_authors", "int32", ["batch", history]);
    const dense = g.input("dense", "float32", ["batch", spec.tower.userDense.names.length]);
    // a data set without user features has no user slots: the (empty) input stays declared, so every bundle's user
    // tower takes the same feeds, but nothing reads it
    const x = g.concat([
      ...(this.userSlots > 0 ? [g.reshape(g.gather(tableTensor(g, this.userCategorical), categorical), [-1, this.userSlots * architecture.categoricalDim])] : []),
      g.embeddingBag(tableTensor(g, this.historyItems), items, paddingMask(g, items), "mean"),
      g.embeddingBag(tableTensor(g, this.historyAuthors), authors, paddingMask(g, authors), "mean"),
      dense,
    ], 1);
    const embedding = g.l2Normalize(mlpGraph(g, this.userMlp, x));
    g.output(g.identity(embedding, "embedding"), "float32", ["batch", architecture.outputDim]);
    return g.toBytes({ producerName: "explore-edge-ranker", docString: `${this.name} user tower`, metadataProps: metadata });
  }

  /** The item tower as ONNX; output `embedding` [batch × outputDim]. */
  itemTowerOnnx(metadata: Record<string, string>): Uint8Array {
    const g = new OnnxGraphBuilder(`${this.name}_item_tower`);
    const { spec, architecture } = this;
    const item = g.input("item", "int32", ["batch"]);
    const author = g.input("author", "int32", ["batch"]);
    const tags = g.input("tags", "int32", ["batch", spec.maxTags]);
    const categorical = g.input("categorical", "int32", ["batch", ITEM_TOWER_SLOTS.length]);
    const dense = g.input("dense", "float32", ["batch", spec.tower.itemDense.names.length]);
    const x = g.concat([
      g.gather(tableTensor(g, this.itemIds), item),
      g.gather(tableTensor(g, this.itemAuthors), author),
      g.reduceSum(g.gather(g.float32(this.itemTags.table.name, this.itemTags.exportedForBags(), [this.itemTags.rows, this.itemTags.dim]), tags), [1], false),
      g.reshape(g.gather(tableTensor(g, this.itemCategorical), categorical), [-1, ITEM_TOWER_SLOTS.length * architecture.categoricalDim]),
      dense,
    ], 1);
    const embedding = g.l2Normalize(mlpGraph(g, this.itemMlp, x));
    g.output(g.identity(embedding, "embedding"), "float32", ["batch", architecture.outputDim]);
    return g.toBytes({ producerName: "explore-edge-ranker", docString: `${this.name} item tower`, metadataProps: metadata });
  }
}

function tableTensor(g: OnnxGraphBuilder, table: EmbeddingTable): TensorName {
  return g.float32(table.table.name, Float32Array.from(table.table.data), [table.rows, table.dim]);
}

/** 1.0 where an id is a real entry, 0.0 for padding (id 0), computed inside the graph. */
export function paddingMask(g: OnnxGraphBuilder, ids: TensorName): TensorName {
  const [isReal] = g.node("Greater", [ids, g.int32(`${ids}_padding`, [0], [])]);
  return g.cast(isReal as TensorName, "float32");
}

export function mlpGraph(g: OnnxGraphBuilder, net: Mlp, input: TensorName): TensorName {
  return net.layers.reduce((h, layer, i) => {
    const y = denseNode(g, layer, h);
    return i < net.layers.length - 1 || net.finalActivation ? g.relu(y) : y;
  }, input);
}
