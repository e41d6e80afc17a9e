import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BundleKvWriter } from "../../core/bundle/kv";

/**
 * The real (remote) KV namespace, through `wrangler kv key get|put|delete --remote --binding <binding>` — the same
 * authentication and namespace resolution as every other wrangler command, one process per key. Binary values go
 * through temporary files (`--path`), never through a shell.
 */
export type CommandRunner = (args: readonly string[]) => Promise<{ code: number; stdout: Uint8Array; stderr: string }>;

export interface RemoteKvOptions {
  readonly configPath: string;
  readonly binding: string;
  /** wrangler environment (`--env`), if any. */
  readonly environment?: string;
  /** Runs `wrangler <args>`; tests pass a fake. */
  readonly run?: CommandRunner;
}

export class WranglerRemoteKv implements BundleKvWriter {
  private readonly run: CommandRunner;
  private temporaryDirectory: Promise<string> | null = null;

  constructor(private readonly options: RemoteKvOptions) {
    this.run = options.run ?? runWrangler;
  }

  /** The wrangler arguments for one operation (also what `--dry-run` prints). */
  commandFor(operation: "get" | "put" | "delete", key: string, path?: string): string[] {
    const args = ["kv", "key", operation, key, "--binding", this.options.binding, "--remote", "--config", this.options.configPath];
    if (this.options.environment !== undefined) args.push("--env", this.options.environment);
    if (operation === "put") args.push("--path", path ?? "<file>");
    return args;
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const result = await this.run(this.commandFor("get", key));
    if (result.code === 0) return result.stdout;
    // The KV API answers a missing key with 404 / error 10009 "key not found"; wrangler exits non-zero with it.
    if (/key not found|10009|\b404\b/i.test(result.stderr + new TextDecoder().decode(result.stdout))) return null;
    throw new Error(`wrangler ${this.commandFor("get", key).join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }

  async getText(key: string): Promise<string | null> {
    const bytes = await this.getBytes(key);
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  async put(key: string, value: Uint8Array | string): Promise<void> {
    this.temporaryDirectory ??= mkdtemp(join(tmpdir(), "bundle-publish-"));
    const path = join(await this.temporaryDirectory, `${Math.random().toString(36).slice(2)}.bin`);
    await writeFile(path, value);
    try {
      const result = await this.run(this.commandFor("put", key, path));
      if (result.code !== 0) throw new Error(`wrangler ${this.commandFor("put", key, path).join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
    } finally {
      await rm(path, { force: true });
    }
  }

  async delete(key: string): Promise<void> {
    const result = await this.run(this.commandFor("delete", key));
    if (result.code !== 0) throw new Error(`wrangler ${this.commandFor("delete", key).join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }

  async dispose(): Promise<void> {
    if (this.temporaryDirectory !== null) await rm(await this.temporaryDirectory, { recursive: true, force: true });
  }
}

/** Prints what a publish would write and reads nothing: every get answers "absent", as for a fresh namespace. */
export class DryRunKv implements BundleKvWriter {
  constructor(private readonly describe: (operation: "put" | "delete", key: string, bytes: number) => string, private readonly print: (line: string) => void = console.log) {}

  async getBytes(): Promise<Uint8Array | null> {
    return null;
  }

  async getText(): Promise<string | null> {
    return null;
  }

  async put(key: string, value: Uint8Array | string): Promise<void> {
    this.print(this.describe("put", key, typeof value === "string" ? new TextEncoder().encode(value).byteLength : value.byteLength));
  }

  async delete(key: string): Promise<void> {
    this.print(this.describe("delete", key, 0));
  }
}

const wranglerBin = join(createRequire(import.meta.url).resolve("wrangler/package.json"), "..", "bin", "wrangler.js");

async function runWrangler(args: readonly string[]): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? 1, stdout: new Uint8Array(Buffer.concat(stdout)), stderr: Buffer.concat(stderr).toString("utf8") }));
  });
}
