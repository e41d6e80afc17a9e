// The Worker isolate's JavaScript heap, read through wrangler dev's inspector (the Chrome DevTools Protocol's
// Runtime.getHeapUsage). workerd's resident memory mixes the heap with what the heap does not hold (wasm memories,
// the Durable Objects' SQLite caches, the allocator's pages); the heap alone says whether JavaScript objects pile up.
import WebSocket from "ws";

export interface HeapUsage {
  /** Bytes of live and not yet collected objects: its low points, right after collections, are the live heap. */
  readonly usedBytes: number;
  /** Bytes V8 has reserved for the heap. */
  readonly totalBytes: number;
  /**
   * Bytes of ArrayBuffer backing stores (typed arrays, wasm memories' buffers, request and KV bodies), which live in
   * the allocator's pages outside the heap; absent when the runtime's protocol does not report them.
   */
  readonly backingStoreBytes?: number;
}

export interface IsolateHeap {
  usage(timeoutMs?: number): Promise<HeapUsage>;
  close(): void;
}

/** Connects to the isolate behind wrangler's inspector proxy on 127.0.0.1:`inspectorPort`. */
export async function connectIsolateHeap(inspectorPort: number, timeoutMs = 10_000): Promise<IsolateHeap> {
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the inspector on port ${inspectorPort} did not open within ${timeoutMs} ms`)), timeoutMs);
    socket.once("open", () => (clearTimeout(timer), resolve()));
    socket.once("error", (error) => (clearTimeout(timer), reject(error)));
  });
  let nextId = 0;
  const pending = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id === undefined) return;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  return {
    usage: (usageTimeoutMs = 5_000) =>
      new Promise<HeapUsage>((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => (pending.delete(id), reject(new Error(`Runtime.getHeapUsage: no answer within ${usageTimeoutMs} ms`))), usageTimeoutMs);
        pending.set(id, (message) => {
          clearTimeout(timer);
          const result = message.result as { usedSize?: unknown; totalSize?: unknown; backingStorageSize?: unknown } | undefined;
          if (typeof result?.usedSize === "number" && typeof result.totalSize === "number") {
            const backing = result.backingStorageSize;
            resolve({ usedBytes: result.usedSize, totalBytes: result.totalSize, ...(typeof backing === "number" ? { backingStoreBytes: backing } : {}) });
          }
          else reject(new Error(`Runtime.getHeapUsage: ${message.error?.message ?? JSON.stringify(message)}`));
        });
        socket.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
      }),
    close: () => socket.close(),
  };
}
