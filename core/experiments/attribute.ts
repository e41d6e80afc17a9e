import type { Experiment } from "../config/experiments";
import type { InteractionType, UserEvent } from "../realtime/events";
import { assignArm } from "./assign";

/** An event as an experiment counts it: under the arm its user is assigned to. */
export interface ArmEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly type: InteractionType;
  readonly arm: string;
}

/**
 * The events of a batch that count for an experiment, each under its user's arm. Assignment is a pure function of
 * the experiment and the user, so the arm a user hashes to is the arm that served them every item while the
 * experiment ran: no per-item record of who served what is needed. What it cannot tell apart is an item served
 * before the experiment began and engaged with after: `startMs` drops events older than the start, and the rest is
 * counted under the user's arm (README "Experiments"). A stopped experiment counts nothing.
 */
export function attributeEvents(experiment: Experiment, events: readonly UserEvent[]): ArmEvent[] {
  if (!experiment.running) return [];
  const startMs = experiment.startMs ?? -Infinity;
  const counted: ArmEvent[] = [];
  const arms = new Map<string, string>();
  for (const event of events) {
    if (event.ts < startMs) continue;
    let arm = arms.get(event.user_id);
    if (arm === undefined) arms.set(event.user_id, (arm = assignArm(experiment, event.user_id).name));
    counted.push({ event_id: event.event_id, user_id: event.user_id, type: event.type, arm });
  }
  return counted;
}
