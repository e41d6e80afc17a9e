import { z } from "zod";
import { configOverrideSchema, overriddenFields } from "./override";

/** Names travel in URLs (`/v1/admin/experiments/:name`) and in the assignment hash, where `:` separates them from the user id. */
const EXPERIMENT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const ARM_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const armSchema = z.strictObject({
  name: z.string().regex(ARM_NAME, { error: "an arm's name is lower-case letters, digits, _ and - (at most 32), starting with a letter or digit" }),
  /** The arm's share of traffic is its weight over the sum of its experiment's weights. */
  weight: z.number().min(0).max(1_000_000),
  /** What the arm changes, in the form `POST /v1/explore` takes as `weights`; `{}` (the default) serves the config as it is: a control. */
  override: configOverrideSchema.default({}),
});

export const experimentSchema = z
  .strictObject({
    name: z.string().regex(EXPERIMENT_NAME, { error: "an experiment's name is lower-case letters, digits, _ and - (at most 64), starting with a letter or digit" }),
    arms: z.array(armSchema).min(2).max(16),
    /** A stopped experiment serves every user the config as it is and counts nothing more; its counts stay readable. */
    running: z.boolean().default(true),
    /**
     * Events before this instant (epoch ms) are not counted: they answer items served before the experiment began.
     * Unset counts every event received while the experiment runs.
     */
    startMs: z.number().int().optional(),
  })
  .superRefine((experiment, context) => {
    const seen = new Set<string>();
    experiment.arms.forEach((arm, index) => {
      if (seen.has(arm.name)) context.addIssue({ code: "custom", message: `two arms are named ${JSON.stringify(arm.name)}`, path: ["arms", index, "name"] });
      seen.add(arm.name);
    });
    if (!(experiment.arms.reduce((sum, arm) => sum + arm.weight, 0) > 0)) context.addIssue({ code: "custom", message: "the arms' weights sum to 0: no user could be assigned", path: ["arms"] });
  });
export type Experiment = z.output<typeof experimentSchema>;
export type ExperimentArm = Experiment["arms"][number];

/**
 * The experiments a config runs. Every running experiment assigns every user an arm, independently of the others, so
 * a user is in all of them at once; that is only sound when no two of them change the same setting, or one arm's
 * effect would depend on which arm of the other the user drew. Two experiments that override one field are refused.
 */
export const experimentsSchema = z
  .array(experimentSchema)
  .max(8)
  .default([])
  .superRefine((experiments, context) => {
    const owners = new Map<string, string>();
    experiments.forEach((experiment, index) => {
      if (experiments.findIndex((other) => other.name === experiment.name) !== index) {
        context.addIssue({ code: "custom", message: `two experiments are named ${JSON.stringify(experiment.name)}`, path: [index, "name"] });
        return;
      }
      if (!experiment.running) return;
      experiment.arms.forEach((arm, armIndex) => {
        for (const field of overriddenFields(arm.override)) {
          const owner = owners.get(field);
          if (owner !== undefined && owner !== experiment.name) {
            context.addIssue({ code: "custom", message: `${field} is already changed by the running experiment ${JSON.stringify(owner)}: two running experiments may not change one setting`, path: [index, "arms", armIndex, "override", ...field.split(".")] });
          } else owners.set(field, experiment.name);
        }
      });
    });
  });
