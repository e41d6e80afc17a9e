// A worker thread's first module: Node starts workers without the parent's TypeScript loader, so the worker
// registers tsx itself and then imports the TypeScript entry named in its workerData (scripts/lib/ts-worker.ts).
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
