import { checkScoredList, expandEntries, whenReady, type OperatorDefinition, type StepRun } from "../operator";
import type { StreamEntry } from "../stream";
import { SURFACES, type Awaitable, type QueryStores, type ScoredId, type Surface } from "../stores";
import type { ArgumentValues, ParamSpec, StreamType } from "../types";

/** Operators on the user stream: they read the user's own graph (or global lists) and start an account or media stream. */

const countParam = (name: string, fallback: number, max: number, doc: string): ParamSpec => ({
  name,
  type: { kind: "integer", min: 1, max },
  default: fallback,
  doc,
});

const surfaceParam: ParamSpec = {
  name: "surface",
  type: { kind: "enum", values: SURFACES },
  default: "any",
  doc: "where the engagement happened: home (H seeds), other (R seeds: Explore, Reels, ...) or any",
};

function userSource(definition: {
  name: string;
  summary: string;
  output: StreamType;
  params: readonly ParamSpec[];
  port: string;
  read: (stores: QueryStores, userId: number, args: ArgumentValues) => Awaitable<readonly ScoredId[]>;
  /** The parameter that bounds the list (default: the last one). */
  sizeParam?: string;
  /** A list shorter than this argument's value is dropped whole (the source needs that much to start). */
  minimumParam?: string;
}): OperatorDefinition {
  const sizeParam = definition.sizeParam ?? (definition.params[definition.params.length - 1] as ParamSpec).name;
  return {
    name: definition.name,
    summary: definition.summary,
    inputs: ["user"],
    output: definition.output,
    params: definition.params,
    size: { kind: "source", param: sizeParam },
    ports: [definition.port],
    run(input, step: StepRun) {
      const max = step.args.integer(sizeParam);
      const minimum = definition.minimumParam === undefined ? 0 : step.args.integer(definition.minimumParam);
      const listOf = (user: StreamEntry, answer: unknown) => {
        const list = checkScoredList(step, definition.port, answer, max, ` for user ${user.id}`);
        return list.length < minimum ? [] : list;
      };
      const expand = (lists: readonly (readonly ScoredId[])[]) => expandEntries(input, lists, step, definition.output, { perInput: max, dropSelf: false });
      // the stream of a user source is the one requesting user
      if (input.length === 1) {
        const user = input[0] as StreamEntry;
        return whenReady(step.call(definition.port, () => definition.read(step.stores, user.id, step.args)), (answer) => expand([listOf(user, answer)]));
      }
      return (async () => {
        const lists = [];
        for (const user of input) lists.push(listOf(user, await step.call(definition.port, () => definition.read(step.stores, user.id, step.args))));
        return expand(lists);
      })();
    },
  };
}

export const liked = userSource({
  name: "liked",
  summary: "authors of the media the user liked, ordered by most recent like",
  output: "account",
  params: [countParam("max_num_to_retrieve", 30, 1000, "how many accounts")],
  port: "likedAccounts",
  read: (stores, userId, args) => stores.likedAccounts(userId, args.integer("max_num_to_retrieve")),
});

export const likedMedia = userSource({
  name: "liked_media",
  summary: "media the user liked, most recent first",
  output: "media",
  params: [countParam("max_num_to_retrieve", 30, 1000, "how many items")],
  port: "likedMedia",
  read: (stores, userId, args) => stores.likedMedia(userId, args.integer("max_num_to_retrieve")),
});

export const followed = userSource({
  name: "followed",
  summary: "accounts the user follows, most recent follow first",
  output: "account",
  params: [countParam("max", 50, 1000, "how many accounts")],
  port: "followedAccounts",
  read: (stores, userId, args) => stores.followedAccounts(userId, args.integer("max")),
});

export const engaged = userSource({
  name: "engaged",
  summary: "authors of the media the user engaged with on a surface, most recent first",
  output: "account",
  params: [surfaceParam, countParam("max", 30, 1000, "how many accounts")],
  port: "engagedAccounts",
  read: (stores, userId, args) => stores.engagedAccounts(userId, args.text("surface") as Surface, args.integer("max")),
});

export const engagedMedia = userSource({
  name: "engaged_media",
  summary: "media the user engaged with on a surface, most recent first",
  output: "media",
  params: [surfaceParam, countParam("max", 30, 1000, "how many items")],
  port: "engagedMedia",
  read: (stores, userId, args) => stores.engagedMedia(userId, args.text("surface") as Surface, args.integer("max")),
});

export const popular = userSource({
  name: "popular",
  summary: "pre-generated popular media (ignores the user's history; the cold-start source)",
  output: "media",
  params: [countParam("n", 100, 100_000, "how many items")],
  port: "popularMedia",
  read: (stores, userId, args) => stores.popularMedia(userId, args.integer("n")),
});

export const trending = userSource({
  name: "trending",
  summary: "real-time trending media (ignores the user's history)",
  output: "media",
  params: [countParam("n", 100, 100_000, "how many items")],
  port: "trendingMedia",
  read: (stores, userId, args) => stores.trendingMedia(userId, args.integer("n")),
});

export const userNn = userSource({
  name: "user_nn",
  summary: "media nearest the user in the retrieval two-tower's space (user tower, then the ANN index)",
  output: "media",
  params: [countParam("n", 100, 100_000, "how many items")],
  port: "userNeighbours",
  read: (stores, userId, args) => stores.userNeighbours(userId, args.integer("n")),
});

export const authorAffinity = userSource({
  name: "author_affinity",
  summary: "the user's authors by affinity: follow_weight if followed, plus clicks, long views and 2 × likes on their media",
  output: "account",
  params: [
    countParam("max", 100, 1000, "how many accounts"),
    { name: "follow_weight", type: { kind: "decimal", min: 0, max: 1000 }, default: 10, doc: "what following an author counts for" },
  ],
  sizeParam: "max",
  port: "authorAffinity",
  read: (stores, userId, args) => stores.authorAffinity(userId, args.integer("max"), args.decimal("follow_weight")),
});

export const followedOrLiked = userSource({
  name: "followed_or_liked",
  summary: "accounts the user follows, then authors of media the user liked; nothing when fewer than min_accounts",
  output: "account",
  params: [
    countParam("max", 100, 1000, "how many accounts"),
    { name: "min_accounts", type: { kind: "integer", min: 0, max: 1000 }, default: 0, doc: "fewer such accounts than this yield none (graph exploration needs a few to start)" },
  ],
  sizeParam: "max",
  minimumParam: "min_accounts",
  port: "followedOrLikedAccounts",
  read: (stores, userId, args) => stores.followedOrLikedAccounts(userId, args.integer("max")),
});
