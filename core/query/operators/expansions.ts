import { CHILD_SCORES, COMBINES, checkScoredLists, expandEntries, whenReady, type ChildScore, type Combine, type OperatorDefinition } from "../operator";
import type { Awaitable, QueryStores, ScoredId } from "../stores";
import type { ArgumentValues, ParamSpec, StreamType } from "../types";

/** Operators that map every entry of an account or media stream to several new entries (the step's fan-out). */

const embeddingConfigParam: ParamSpec = {
  name: "embedding_config",
  type: { kind: "config_name", family: "embedding_config" },
  default: "default",
  doc: "which embedding space to search",
};

/** Every expansion's scoring and merging of children; see `expandEntries`. */
const scoringParams: readonly ParamSpec[] = [
  { name: "score", type: { kind: "enum", values: CHILD_SCORES }, default: "port", doc: "a child's score: the port's (port), the parent's times the port's (product), or the parent's / (1 + the child's place in its list) (rank)" },
  { name: "combine", type: { kind: "enum", values: COMBINES }, default: "first", doc: "an item reached from several inputs keeps the first path's score (first), the largest (max) or their sum (sum)" },
  { name: "share", type: { kind: "integer", min: 1, max: 100_000 }, doc: "split this many children among the inputs: each input yields at most ceil(share / inputs) (absent: the fan-out each)" },
];
/** For expansions whose output has the input's type: the walk's own seeds never come back. */
const excludeInputsParam: ParamSpec = { name: "exclude_inputs", type: { kind: "boolean" }, default: false, doc: "drop children that are inputs of this step" };

function expansion(definition: {
  name: string;
  summary: string;
  input: StreamType;
  output: StreamType;
  params: readonly ParamSpec[];
  /** The per-input count parameter (the fan-out). */
  fanOut: string;
  /** Neighbour lists may contain the query itself; it is dropped, and one more is asked for to keep `fanOut` results. */
  dropSelf: boolean;
  port: string;
  read: (stores: QueryStores, ids: readonly number[], perInput: number, args: ArgumentValues) => Awaitable<readonly (readonly ScoredId[])[]>;
}): OperatorDefinition {
  return {
    name: definition.name,
    summary: definition.summary,
    inputs: [definition.input],
    output: definition.output,
    params: [...definition.params, ...scoringParams, ...(definition.input === definition.output ? [excludeInputsParam] : [])],
    size: { kind: "expand", param: definition.fanOut },
    ports: [definition.port],
    run(input, step) {
      if (input.length === 0) return [];
      const ids = input.map((entry) => entry.id);
      const share = step.args.has("share") ? step.args.integer("share") : undefined;
      const fanOut = step.args.integer(definition.fanOut);
      const perInput = share === undefined ? fanOut : Math.min(fanOut, Math.ceil(share / input.length));
      const asked = perInput + (definition.dropSelf ? 1 : 0);
      return whenReady(step.call(definition.port, () => definition.read(step.stores, ids, asked, step.args)), (answer) =>
        expandEntries(input, checkScoredLists(step, definition.port, answer, ids, asked), step, definition.output, {
          perInput,
          dropSelf: definition.dropSelf,
          score: step.args.text("score") as ChildScore,
          combine: step.args.text("combine") as Combine,
          excludeInputs: step.args.has("exclude_inputs") && step.args.boolean("exclude_inputs"),
        }),
      );
    },
  };
}

export const accountNn = expansion({
  name: "account_nn",
  summary: "nearest accounts to each account by account embeddings (never the account itself)",
  input: "account",
  output: "account",
  params: [{ name: "k", type: { kind: "integer", min: 1, max: 1000 }, default: 10, doc: "neighbours per account" }, embeddingConfigParam],
  fanOut: "k",
  dropSelf: true,
  port: "accountNeighbours",
  read: (stores, ids, k, args) => stores.accountNeighbours(ids, k, args.text("embedding_config")),
});

export const mediaNn = expansion({
  name: "media_nn",
  summary: "nearest items to each item by item embeddings (never the item itself)",
  input: "media",
  output: "media",
  params: [{ name: "k", type: { kind: "integer", min: 1, max: 1000 }, default: 10, doc: "neighbours per item" }, embeddingConfigParam],
  fanOut: "k",
  dropSelf: true,
  port: "mediaNeighbours",
  read: (stores, ids, k, args) => stores.mediaNeighbours(ids, k, args.text("embedding_config")),
});

export const cooccurred = expansion({
  name: "cooccurred",
  summary: "items most often engaged with by the same users as each item (never the item itself)",
  input: "media",
  output: "media",
  params: [{ name: "k", type: { kind: "integer", min: 1, max: 1000 }, default: 10, doc: "co-occurring items per item" }],
  fanOut: "k",
  dropSelf: true,
  port: "cooccurredMedia",
  read: (stores, ids, k) => stores.cooccurredMedia(ids, k),
});

export const twoHop = expansion({
  name: "two_hop",
  summary: "accounts engaged with by users who engaged with each account (graph exploration for sparse users, F seeds)",
  input: "account",
  output: "account",
  params: [{ name: "max", type: { kind: "integer", min: 1, max: 1000 }, default: 10, doc: "accounts per input account" }],
  fanOut: "max",
  dropSelf: true,
  port: "twoHopAccounts",
  read: (stores, ids, max) => stores.twoHopAccounts(ids, max),
});

export const postedMedia = expansion({
  name: "posted_media",
  summary: "each account's most recent media, newest first",
  input: "account",
  output: "media",
  params: [
    { name: "max_media_per_account", type: { kind: "integer", min: 1, max: 1000 }, default: 10, doc: "items per account" },
    { name: "max_age_hours", type: { kind: "decimal", min: 0, max: 24 * 365 * 10, minExclusive: true }, doc: "only items younger than this (absent: any age)" },
  ],
  fanOut: "max_media_per_account",
  dropSelf: false,
  port: "postedMedia",
  read: (stores, ids, max, args) => stores.postedMedia(ids, max, args.optionalDecimal("max_age_hours")),
});
