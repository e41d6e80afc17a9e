import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import type { Experiment } from "../../core/config/experiments";
import { parseServingConfig } from "../../core/config/serving";
import { loadBundle, readActiveVersion } from "../../core/bundle/store";
import { parseServingManifest } from "../../core/serving/bundle-manifest";
import { workersKvReader } from "../bundle/kv";
import { SERVING_CONFIG_KEY } from "../feeds/serving-config";

const EXPERIMENTS_TTL_MS = 30_000;
let cache: { at: number; experiments: readonly Experiment[]; problem?: string } | undefined;

/**
 * The experiments of the serving config in effect, as the feed routes see it (worker/feeds/serving-config.ts: the
 * override stored in KV when valid, else the active bundle's), read without decoding the bundle: counting events
 * must not load models. Only the active version's manifest and its config file are read. Cached per isolate for
 * 30 s, as the feeds' config is, so an edit reaches both within the same bound.
 */
export async function experimentsInEffect(env: Env, nowMs: number): Promise<{ experiments: readonly Experiment[]; problem?: string }> {
  if (cache && nowMs - cache.at < EXPERIMENTS_TTL_MS) return cache;
  let read: { experiments: readonly Experiment[]; problem?: string };
  try {
    // every KV read of it together within one budget (core/config/budgets.ts): events must not wait on a hung read
    read = await withinTimeBudget(readExperiments(env), 2 * REQUEST_BUDGETS_MS.kvRead, "the experiments' config");
  } catch (error) {
    // the experiments read last keep counting (they change rarely); with none read yet the caller says degraded
    if (!cache) throw error;
    return { experiments: cache.experiments, problem: `experiments' config unreadable, counting under the last read: ${(error as Error).message}` };
  }
  cache = { at: nowMs, ...read };
  return cache;
}

async function readExperiments(env: Env): Promise<{ experiments: readonly Experiment[]; problem?: string }> {
  let problem: string | undefined;
  let experiments: readonly Experiment[] | undefined;
  try {
    const stored = await env.BUNDLES.get(SERVING_CONFIG_KEY, "json");
    if (stored !== null) experiments = parseServingConfig(stored, SERVING_CONFIG_KEY).experiments;
  } catch (error) {
    problem = `stored serving config ignored: ${(error as Error).message}`;
  }
  experiments ??= await bundleExperiments(env);
  return { experiments, ...(problem ? { problem } : {}) };
}

/** The admin config routes call this with the feeds' own cache reset, so a stored edit counts at once in this isolate. */
export function resetExperimentsCache(): void {
  cache = undefined;
}

async function bundleExperiments(env: Env): Promise<readonly Experiment[]> {
  const kv = workersKvReader(env.BUNDLES);
  const version = await readActiveVersion(kv);
  if (version === null) return [];
  const { manifest } = await loadBundle(kv, version, { files: () => false });
  const configPath = parseServingManifest(manifest).serving_config;
  const { files } = await loadBundle(kv, version, { files: (path) => path === configPath });
  const bytes = files.get(configPath);
  if (bytes === undefined) throw new Error(`bundle ${version}: ${configPath} is not stored`);
  return parseServingConfig(JSON.parse(new TextDecoder().decode(bytes)), configPath).experiments;
}
