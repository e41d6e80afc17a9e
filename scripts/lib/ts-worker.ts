/**
 * Runs a TypeScript module in a worker thread and returns what it posts back: the offline scripts' way of using the
 * second core for work that shares nothing with the main thread (the pipeline trains its stage models there while it
 * tunes). The worker posts `log` lines while it runs and one `result`, or an error that is raised here again.
 */
import { Worker } from "node:worker_threads";
import { InsufficientDataError } from "../../core/data/errors";

export type WorkerMessage<T> =
  /** `atMs`: when the worker wrote the line (epoch ms): the main thread may read it much later, after its own busy spell. */
  | { readonly kind: "log"; readonly line: string; readonly atMs: number }
  | { readonly kind: "result"; readonly value: T }
  | { readonly kind: "insufficient-data"; readonly step: string; readonly needed: string; readonly found: string }
  | { readonly kind: "error"; readonly message: string; readonly stack: string | undefined };

export interface RunningWorker<T> {
  readonly result: Promise<T>;
  /** Stops the worker (when the main thread fails first); `result` then rejects. */
  stop(): Promise<void>;
}

const BOOT = new URL("./ts-worker-boot.mjs", import.meta.url);

export function runTsWorker<T>(entry: URL, input: unknown, log: (line: string, atMs: number) => void): RunningWorker<T> {
  const worker = new Worker(BOOT, { workerData: { entry: entry.href, input } });
  let settled = false;
  const result = new Promise<T>((resolve, reject) => {
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    worker.on("message", (message: WorkerMessage<T>) => {
      if (message.kind === "log") log(message.line, message.atMs);
      else if (message.kind === "result") settle(() => resolve(message.value));
      else if (message.kind === "insufficient-data") settle(() => reject(new InsufficientDataError(message.step, message.needed, message.found)));
      else settle(() => reject(Object.assign(new Error(`${entry.pathname}: ${message.message}`), { stack: message.stack })));
    });
    worker.on("error", (error) => settle(() => reject(error)));
    worker.on("exit", (code) => settle(() => reject(new Error(`${entry.pathname}: the worker exited (code ${code}) without a result`))));
  });
  // a failure is seen where the caller awaits `result`, however long after it happened
  result.catch(() => undefined);
  return {
    result,
    stop: async () => {
      if (!settled) await worker.terminate();
    },
  };
}

/** The worker's side: runs `body` on the worker's input and posts its result or its error. */
export async function serveTsWorker<I, T>(body: (input: I, log: (line: string) => void) => Promise<T>): Promise<void> {
  const { parentPort, workerData } = await import("node:worker_threads");
  if (!parentPort) throw new Error("serveTsWorker: not in a worker thread");
  const post = (message: WorkerMessage<T>) => parentPort.postMessage(message);
  try {
    const value = await body((workerData as { input: I }).input, (line) => post({ kind: "log", line, atMs: performance.timeOrigin + performance.now() }));
    post({ kind: "result", value });
  } catch (error) {
    if (error instanceof InsufficientDataError) post({ kind: "insufficient-data", step: error.step, needed: error.needed, found: error.found });
    else post({ kind: "error", message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
  }
}
