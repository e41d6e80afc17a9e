import { parseServingConfig, type ServingConfig } from "../core/config/serving";
import servingConfigFile from "./serving-config.json";
import { tuningSearchSpaceSchema, type TuningSearchSpace } from "./tuning/tune";

/*
 * The one reader of models/serving-config.json. The file is the tuner's (where its search starts, and what it
 * searches), so the offline tools read it, never core/: models/ code imports core/, and the Worker serves the
 * config its bundle or KV carries.
 */

/** The defaults: where the pipeline's tuner starts, and what a data set too small to tune on is served with. */
export const DEFAULT_SERVING_CONFIG: ServingConfig = parseServingConfig(servingConfigFile.defaults, "models/serving-config.json defaults");

/** The knobs each tuning phase searches, and their bounds. */
export const SERVING_CONFIG_SEARCH_SPACE: TuningSearchSpace = tuningSearchSpaceSchema.parse(servingConfigFile.searchSpace);
