import type { OperatorDefinition } from "../operator";
import { diversifyBy } from "./diversify";
import { accountNn, cooccurred, mediaNn, postedMedia, twoHop } from "./expansions";
import { filter } from "./filter";
import { letBinding } from "./let";
import { limit } from "./limit";
import { rank } from "./rank";
import { engaged, engagedMedia, followed, liked, likedMedia, popular, trending } from "./sources";

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
    accountNn,
    mediaNn,
    cooccurred,
    twoHop,
    postedMedia,
    filter,
    rank,
    diversifyBy,
    limit,
  ].map((operator) => [operator.name, operator]),
);
