import { EXPLORE_STAGES, createFeedState, runStages, type FeedResult } from "./explore";
import type { ServingBundle } from "../serving/serving-bundle";
import type { CandidateRecorder, FeedState, PassOverRule, Stage } from "./feed-state";
import type { Candidate, FeedRequest } from "./types";

/** What one stage took and gave, candidate by candidate (the objects themselves, as the stages left them). */
export interface StageCandidates {
  readonly stage: string;
  readonly input: readonly Candidate[];
  readonly output: readonly Candidate[];
}

/** One time a rule of the page skipped a candidate: at which position (0-based) and why. */
export interface PassOver {
  readonly position: number;
  readonly rule: PassOverRule;
}

/**
 * What an inspection keeps of one request beyond the counts of `FunnelTrace`: every stage's candidates in and out,
 * and each time the author rules passed a candidate over. Only an inspection builds one; feed requests record none
 * of it, so the serving path pays nothing for it.
 */
export class CandidateTrace implements CandidateRecorder {
  readonly stages: StageCandidates[] = [];
  private readonly passes = new Map<Candidate, PassOver[]>();

  passedOver(candidate: Candidate, position: number, rule: PassOverRule): void {
    const passes = this.passes.get(candidate);
    if (passes) passes.push({ position, rule });
    else this.passes.set(candidate, [{ position, rule }]);
  }

  /** The times the author rules passed `candidate` over, in page order. */
  passesOf(candidate: Candidate): readonly PassOver[] {
    return this.passes.get(candidate) ?? [];
  }

  /** What the stage named `stage` took and gave, if it ran. */
  of(stage: string): StageCandidates | undefined {
    return this.stages.find((entry) => entry.stage === stage);
  }

  /** `stages`, each recording what it takes and gives here. */
  recording<S extends FeedState>(stages: readonly Stage<S>[]): Stage<S>[] {
    return stages.map((stage) => ({
      name: stage.name,
      run: async (state: S, candidates: Candidate[]) => {
        // copied before the stage runs: a stage may reorder or reuse the array it is given
        const input = [...candidates];
        const output = await stage.run(state, candidates);
        this.stages.push({ stage: stage.name, input, output: [...output] });
        return output;
      },
    }));
  }
}

/** A request run with its candidates recorded. */
export interface TracedFeed {
  readonly result: FeedResult;
  /** The request context the stages ran over (the user's retrieval embedding, among others). */
  readonly state: FeedState;
  readonly candidates: CandidateTrace;
}

/** Runs `stages` (Explore's by default) for one request, as a feed request would, recording every candidate. */
export async function runTracedFeed(bundle: ServingBundle, request: FeedRequest, stages: readonly Stage[] = EXPLORE_STAGES): Promise<TracedFeed> {
  const candidates = new CandidateTrace();
  const state: FeedState = { ...(await createFeedState(bundle, request)), candidateRecorder: candidates };
  const result = await runStages(state, candidates.recording(stages));
  return { result, state, candidates };
}
