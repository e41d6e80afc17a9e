import { KV_MAX_KEY_BYTES, KV_MAX_VALUE_BYTES } from "./kv-layout";

/**
 * The slice of a key-value store the bundle store needs. Workers KV (in the Worker), Miniflare's KV (local
 * publishing), `wrangler kv` (remote publishing) and `MemoryKv` (tests, Node tools) each get a small adapter.
 */
export interface BundleKvReader {
  getBytes(key: string): Promise<Uint8Array | null>;
  getText(key: string): Promise<string | null>;
}

export interface BundleKvWriter extends BundleKvReader {
  put(key: string, value: Uint8Array | string): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * An in-memory KV with Workers KV's limits (value ≤ 25 MiB unless told otherwise, key ≤ 512 bytes), so a test
 * that passes here does not rely on writes the real store would refuse. `log` records every operation in order.
 */
export class MemoryKv implements BundleKvWriter {
  readonly values = new Map<string, Uint8Array>();
  readonly log: { op: "get" | "put" | "delete"; key: string }[] = [];

  constructor(readonly maxValueBytes = KV_MAX_VALUE_BYTES) {}

  async getBytes(key: string): Promise<Uint8Array | null> {
    this.log.push({ op: "get", key });
    const value = this.values.get(key);
    return value === undefined ? null : value.slice();
  }

  async getText(key: string): Promise<string | null> {
    const bytes = await this.getBytes(key);
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  async put(key: string, value: Uint8Array | string): Promise<void> {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value.slice();
    if (new TextEncoder().encode(key).byteLength > KV_MAX_KEY_BYTES) throw new Error(`KV key longer than ${KV_MAX_KEY_BYTES} bytes: ${key.slice(0, 80)}…`);
    if (bytes.byteLength > this.maxValueBytes) throw new Error(`KV value for ${key} is ${bytes.byteLength} bytes, over the ${this.maxValueBytes}-byte limit`);
    this.log.push({ op: "put", key });
    this.values.set(key, bytes);
  }

  async delete(key: string): Promise<void> {
    this.log.push({ op: "delete", key });
    this.values.delete(key);
  }

  keys(prefix = ""): string[] {
    return [...this.values.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}
