import type { Experiment, ExperimentArm } from "../config/experiments";
import type { ServingConfig } from "../config/serving";
import { applyOverride, ConfigOverrideError } from "../funnel/overrides";

/**
 * Where a user falls in [0, 1) for an experiment: FNV-1a over the UTF-16 code units of `experiment:userId`, then
 * Murmur3's 32-bit finaliser. FNV alone leaves sequential ids ("1", "2", …) clustered in its low and high bits; the
 * finaliser spreads every input bit over the whole word. Plain integer maths, so Node, workerd and a browser agree,
 * and the point must never change once experiments run: a changed hash moves users between arms mid-experiment.
 * The experiment's name is part of the key so that two experiments split users independently.
 */
export function assignmentPoint(experiment: string, userId: string): number {
  const key = `${experiment}:${userId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 0x1_0000_0000;
}

/** The arm a user is served under: the arms share [0, 1) in config order, each in proportion to its weight. */
export function assignArm(experiment: Pick<Experiment, "name" | "arms">, userId: string): ExperimentArm {
  const total = experiment.arms.reduce((sum, arm) => sum + arm.weight, 0);
  const target = assignmentPoint(experiment.name, userId) * total;
  let reached = 0;
  let last: ExperimentArm | undefined;
  for (const arm of experiment.arms) {
    if (arm.weight <= 0) continue;
    reached += arm.weight;
    last = arm;
    if (target < reached) return arm;
  }
  // rounding can leave the very top of the range past the last sum; the schema guarantees a weighted arm exists
  if (last === undefined) throw new RangeError(`experiment ${JSON.stringify(experiment.name)}: no arm has a positive weight`);
  return last;
}

/** One experiment's arm for one user, as feed responses name it. */
export interface ServedArm {
  readonly experiment: string;
  readonly arm: string;
}

export interface ExperimentServing {
  /** The config the user is served under: every running experiment's arm applied. */
  readonly config: ServingConfig;
  readonly arms: readonly ServedArm[];
  /** Arms whose override the config refuses when combined with the other experiments' arms: served without it. */
  readonly problems: readonly string[];
}

const servedConfigs = new WeakMap<ServingConfig, Map<string, { config: ServingConfig; problems: readonly string[] }>>();

/**
 * The user's arm in each running experiment and the config they make. Users of the same arms share one config object
 * per stored config (the Worker hands out one per 30 s), so its fingerprint and precomputed feeds are computed once
 * per arm, not once per request; a control arm serves the stored object itself.
 */
export function experimentServing(config: ServingConfig, userId: string): ExperimentServing {
  const running = config.experiments.filter((experiment) => experiment.running);
  if (running.length === 0) return { config, arms: [], problems: [] };
  const drawn = running.map((experiment) => ({ experiment, arm: assignArm(experiment, userId) }));
  const arms = drawn.map(({ experiment, arm }) => ({ experiment: experiment.name, arm: arm.name }));
  const key = JSON.stringify(arms);
  let byArms = servedConfigs.get(config);
  if (byArms === undefined) servedConfigs.set(config, (byArms = new Map()));
  let served = byArms.get(key);
  if (served === undefined) {
    let armed = config;
    const problems: string[] = [];
    for (const { experiment, arm } of drawn) {
      if (Object.keys(arm.override).length === 0) continue;
      try {
        armed = applyOverride(armed, arm.override);
      } catch (error) {
        if (!(error instanceof ConfigOverrideError)) throw error;
        problems.push(`experiment ${experiment.name}: arm ${arm.name} not applied: ${error.field}: ${error.message}`);
      }
    }
    served = { config: armed, problems };
    byArms.set(key, served);
  }
  return { config: served.config, arms, problems: served.problems };
}
