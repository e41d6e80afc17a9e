/** A piece of a request that did not finish within its time budget: the request goes on without it. */
export class TimeBudgetExceeded extends Error {
  constructor(
    readonly what: string,
    readonly budgetMs: number,
  ) {
    super(`${what} did not answer within its time budget of ${budgetMs} ms`);
    this.name = "TimeBudgetExceeded";
  }
}

/**
 * `work`, or a TimeBudgetExceeded rejection once `budgetMs` have passed, whichever comes first. The work itself is not
 * cancelled (an RPC or a KV read cannot be), only no longer waited for; its late answer or failure is dropped. This
 * bounds waits on I/O: CPU-bound work never yields to the timer, so it needs its own checks (the query CpuBudget).
 */
export async function withinTimeBudget<P extends PromiseLike<unknown>>(work: P, budgetMs: number, what: string): Promise<Awaited<P>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeBudgetExceeded(what, budgetMs)), budgetMs);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
