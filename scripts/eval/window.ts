/**
 * One evaluation window: the baselines, then a bundle's models, funnel and Suggested Posts, on one time split,
 * with both protocols of core/eval. `npm run eval` prints it; the rolling evaluation runs it per window.
 */
import type { Dataset } from "../../core/data/dataset";
import type { TimeSplit } from "../../core/data/split";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import { baselineSystems, evaluate, trainingData, type EvaluationReport, type Systems } from "../../core/eval/harness";
import { formatReport } from "../../core/eval/report";
import { CATALOGUE_LABELS, testPositives } from "../../core/eval/protocols";
import { BundleRows, FirstStageRecommender, MtmlPairScorer, TwoTowerRecommender } from "../../core/eval/systems/bundle-systems";
import { ExploreSystems } from "../../core/eval/systems/funnel-systems";
import { FeedbackCalibratedScorer } from "../../core/eval/systems/feedback-scorer";
import { SuggestedSystems, type SuggestedMeasures } from "../../core/eval/systems/suggested-systems";
import type { HomeLikeness } from "../../core/eval/home-likeness";
import { SOURCE_NAMES } from "../../core/config/serving";
import { suggestedConfigSchema } from "../../core/config/suggested";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { BundleTables } from "../../core/serving/bundle-tables";
import { releaseBundleModels, type BundleModels } from "../../core/serving/bundle-models";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { UsageError } from "../lib/cli";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

export interface WindowOptions {
  /** The bundle to measure; undefined = the baselines only. */
  readonly bundle: string | undefined;
  /**
   * "all": every system and measure; "bars": what the quality bars read (popularity, item rate, the funnel's
   * retrieval, feed and score, the MTML, Suggested Posts), skipping the per-source lists, the lone towers and the
   * fidelity measures.
   */
  readonly systems: "all" | "bars";
  readonly suggested: boolean;
  readonly suggestedCount: number;
  /** "defaults": Suggested Posts with `suggested.home` at its defaults (no Home terms), to see what the bundle's Home terms change. */
  readonly suggestedHome?: "bundle" | "defaults";
  readonly fidelityUsers: number;
  readonly funnelFidelityUsers: number;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
}

export interface WindowResult {
  readonly report: EvaluationReport;
  readonly suggested?: SuggestedMeasures;
}

export async function evaluateWindow(dataset: Dataset, split: TimeSplit, options: WindowOptions): Promise<WindowResult> {
  const started = performance.now();
  const { log } = options;
  const train = trainingData(dataset, split);
  const baselines = baselineSystems(train);
  const onSystemDone = (kind: string, name: string, seconds: number): void => log(`  ${kind} ${name}: ${seconds.toFixed(1)} s`);
  const report = await evaluate(dataset, split, baselines, { onSystemDone });
  if (!options.bundle) return { report };
  // The baselines take seconds and the models minutes: show them now, and once more beside the models at the end.
  log(`\nBaselines (${((performance.now() - started) / 1000).toFixed(0)} s); the models and the funnel follow.\n${formatReport(report)}\n`);

  const bundleFiles = await loadBundleDirectory(options.bundle);
  const tables = BundleTables.decode(bundleFiles.manifest, bundleFiles.files);
  if (tables.manifest.data.train_end !== split.trainEnd) {
    throw new UsageError(`--bundle ${options.bundle} was trained through ${tables.manifest.data.train_end}, but this split trains through ${split.trainEnd}`);
  }
  const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  if (bundle.problems.length > 0) throw new Error(`bundle ${options.bundle} is not fully usable: ${bundle.problems.join("; ")}`);
  const models = bundle.models as BundleModels;
  try {
    const rows = new BundleRows(dataset, bundle.tables);
    const explore = new ExploreSystems(rows, bundle, bundle.tables.config);
    const systems: Systems = { recommenders: [explore.retrieval()], scorers: [explore.score(), explore.feedScore(), new MtmlPairScorer(rows, models), new FeedbackCalibratedScorer(new MtmlPairScorer(rows, models), split.test, dataset.labels)] };
    if (options.systems === "all") systems.recommenders.push(...SOURCE_NAMES.map((name) => explore.source(name)));
    systems.recommenders.push(explore.explore());
    if (options.systems === "all") systems.recommenders.push(new TwoTowerRecommender(rows, models), new FirstStageRecommender(rows, models));
    const config = bundle.tables.config;
    const suggestedConfig = options.suggestedHome === "defaults" ? { ...config, suggested: { ...config.suggested, home: suggestedConfigSchema.parse({}).home } } : config;
    const suggested = options.suggested ? new SuggestedSystems(rows, bundle, suggestedConfig, { count: options.suggestedCount }) : undefined;
    if (suggested) systems.recommenders.push(suggested.recommender());
    log(`bundle ${tables.version} from ${options.bundle} (mtml ${tables.manifest.models.mtml.quantization})`);

    const measures: Record<string, number> = {};
    if (options.systems === "all") {
      const positives = testPositives(split.test, CATALOGUE_LABELS);
      const testUsers = [...new Set([...positives.values()].flatMap((byUser) => [...byUser.keys()]))].sort((a, b) => a - b);
      const fidelityStarted = performance.now();
      const fidelity = await explore.firstStageFidelity(testUsers, options.fidelityUsers);
      measures.first_stage_fidelity = fidelity.fidelity;
      measures.first_stage_fidelity_users = fidelity.users;
      measures.first_stage_fidelity_mean_pool = fidelity.meanPool;
      log(`  first_stage_fidelity over ${fidelity.users} users: ${((performance.now() - fidelityStarted) / 1000).toFixed(1)} s`);
      const funnelStarted = performance.now();
      const funnel = await explore.funnelFidelity(testUsers, options.funnelFidelityUsers);
      measures.funnel_fidelity = funnel.fidelity;
      measures.funnel_fidelity_users = funnel.users;
      log(`  funnel_fidelity over ${funnel.users} users: ${((performance.now() - funnelStarted) / 1000).toFixed(1)} s`);
    }
    const measured = await evaluate(dataset, split, systems, { onSystemDone });
    Object.assign(report.full_catalogue, measured.full_catalogue);
    Object.assign(report.impressions, measured.impressions);
    Object.assign(report.seconds, measured.seconds);
    Object.assign(report.measures, measures);
    let suggestedMeasures: SuggestedMeasures | undefined;
    if (suggested) {
      const suggestedStarted = performance.now();
      const popularity = baselines.recommenders.find((system): system is DecayedPopularity => system instanceof DecayedPopularity) ?? new DecayedPopularity(train);
      // the Explore feed's Home-likeness beside the suggestions' (dataset item ids, as the harness sees them)
      const exploreFeed = explore.explore();
      suggestedMeasures = await suggested.measures(train, split.test, popularity.order, async (user) => (await exploreFeed.recommend({ user, atMs: train.endMs, count: options.suggestedCount })).items.subarray(0, options.suggestedCount));
      Object.assign(report.measures, flattenSuggestedMeasures(suggestedMeasures));
      log(`  suggested measures over ${suggestedMeasures.users} users: ${((performance.now() - suggestedStarted) / 1000).toFixed(1)} s`);
    }
    report.seconds.total = (performance.now() - started) / 1000;
    return suggestedMeasures ? { report, suggested: suggestedMeasures } : { report };
  } finally {
    await releaseBundleModels(models);
  }
}

/** Suggested Posts' measures as flat report measures: `suggested_…` for the suggestions, `popularity_…` for restricted popularity. */
export function flattenSuggestedMeasures(m: SuggestedMeasures): Record<string, number> {
  const out: Record<string, number> = { suggested_users: m.users, suggested_mean_list_length: m.mean_list_length, suggested_degraded_users: m.degraded_users };
  for (const [label, r] of Object.entries(m.recall)) {
    out[`suggested_unfollowed_recall@20_${label}`] = r.suggested_at_page;
    out[`popularity_unfollowed_recall@20_${label}`] = r.popularity_at_page;
    out[`suggested_unfollowed_recall@list_${label}`] = r.suggested_at_list;
    out[`popularity_unfollowed_recall@list_${label}`] = r.popularity_at_list;
    out[`suggested_unfollowed_users_${label}`] = r.users;
  }
  out.suggested_home_neighbour_fraction = m.home_neighbour_fraction;
  out.popularity_home_neighbour_fraction = m.popularity_home_neighbour_fraction;
  out.suggested_home_neighbour_users = m.home_neighbour_users;
  for (const [source, share] of Object.entries(m.share)) out[`suggested_share_${source}`] = share;
  for (const [system, likeness] of Object.entries(m.home_likeness)) {
    for (const [name, value] of Object.entries(likeness as HomeLikeness)) out[`home_likeness_${system}_${name}`] = value;
  }
  return out;
}
