import type { ServingConfig } from "../config/serving";
import { applyOverride, ConfigOverrideError } from "../funnel/overrides";
import { assignArm } from "./assign";

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
