import type { OperatorDefinition } from "../operator";
import { diversifyBy } from "./diversify";
import { accountNn, cooccurred, mediaNn, postedMedia, twoHop } from "./expansions";
import { filter } from "./filter";
import { letBinding } from "./let";
import { limit, top } from "./limit";
import { rank } from "./rank";
import { normalize, positionWeight, scale } from "./scores";
import { authorAffinity, engaged, engagedMedia, followed, followedOrLiked, liked, likedMedia, popular, trending, userNn } from "./sources";

/** Every operator of the language, by name; adding an operator means adding one definition here. */
export const OPERATORS: ReadonlyMap<string, OperatorDefinition> = new Map(
  [
    letBinding,
    liked,
    likedMedia,
    followed,
    engaged,
    engagedMedia,
    popular,
    trending,
    userNn,
    authorAffinity,
    followedOrLiked,
    accountNn,
    mediaNn,
    cooccurred,
    twoHop,
    postedMedia,
    filter,
    rank,
    diversifyBy,
    positionWeight,
    scale,
    normalize,
    top,
    limit,
  ].map((operator) => [operator.name, operator]),
);
