import type { Experiment, ExperimentArm } from "../config/experiments";

/**
 * Where a user falls in [0, 1) for an experiment: FNV-1a over the UTF-16 code units of `experiment:userId`, then
 * Murmur3's 32-bit finaliser. FNV alone spreads sequential ids ("1", "2", …) less evenly than chance over the top
 * bits, which are the ones that pick the arm; the finaliser mixes every input bit into all of them. Plain integer
 * maths, so Node, workerd and a browser agree, and the point must never change once experiments run: a changed hash
 * moves users between arms mid-experiment. The experiment's name is part of the key so that two experiments split
 * users independently.
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
