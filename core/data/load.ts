import type { Dataset } from "./dataset";
import { DataError } from "./errors";
import { isGeneric, loadGeneric } from "./generic";
import { isKuaiRand, loadKuaiRand } from "./kuairand";
import type { DataSource } from "./source";

/** Loads a data directory in either the generic format or KuaiRand's own layout. */
export async function loadDataset(source: DataSource, name?: string): Promise<Dataset> {
  const files = await source.list();
  if (isGeneric(files)) return loadGeneric(source);
  if (isKuaiRand(files)) return loadKuaiRand(source, name);
  throw new DataError(
    source.location,
    undefined,
    undefined,
    "not a data set: expected dataset.json (generic format, see data/FORMAT.md) or KuaiRand files (log_*.csv and video_features_basic.csv)",
  );
}
