// `wrangler dev` on a free loopback port with its own persistence directory, started and stopped by the benchmark,
// and `wrangler deploy --dry-run` for the Worker's upload size.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
const WRANGLER_BIN = join(createRequire(import.meta.url).resolve("wrangler/package.json"), "..", "bin", "wrangler.js");

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface DevServer {
  readonly url: string;
  /** The `wrangler dev` process (workerd runs below it). */
  readonly pid: number;
  /** From spawning wrangler until the Worker answered its first (bundle-free) request. */
  readonly bootMs: number;
  /**
   * With `directUserWorker`: the Worker's own Miniflare socket behind wrangler's dev proxy (its ProxyWorker, a Durable
   * Object every request of `url` passes through, which a deployed Worker does not have).
   */
  readonly userWorkerUrl?: string;
  /** wrangler's inspector proxy (Chrome DevTools Protocol to the Worker's isolate), on 127.0.0.1. */
  readonly inspectorPort?: number;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /**
   * Also find the Worker's own Miniflare socket (`userWorkerUrl`): wrangler names it only at `--log-level debug`, in
   * the `reloadComplete` message to its proxy, so this runs wrangler at that level.
   */
  readonly directUserWorker?: boolean;
  /** Environment variables for wrangler beside this process's own (e.g. WRANGLER_REGISTRY_PATH, so two sessions find each other and no one else). */
  readonly env?: Readonly<Record<string, string>>;
}

const running = new Set<ChildProcess>();
/** Signals the process group a detached child leads (wrangler and its workerd processes). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

process.on("exit", () => {
  for (const child of running) signalGroup(child, "SIGKILL");
});

/**
 * Starts `wrangler dev` against `persistTo` (where the bundle was published) and waits until the Worker answers a
 * request that touches no bundle (a 404 route), so the first real request afterwards pays the bundle load.
 */
/** `checkout`: the working tree whose Worker to serve (another checkout's, to compare two versions side by side). */
export async function startDevServer(persistTo: string, timeoutMs = 90_000, extraArgs: readonly string[] = [], checkout = REPO_ROOT, options: DevServerOptions = {}): Promise<DevServer> {
  // a port found free can be taken by someone else before wrangler binds it: pick again a few times
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(persistTo, timeoutMs, extraArgs, checkout, options);
    } catch (error) {
      if (attempt >= 4 || !/Address already in use/i.test((error as Error).message)) throw error;
    }
  }
}

async function startDevServerOnce(persistTo: string, timeoutMs: number, extraArgs: readonly string[], checkout: string, options: DevServerOptions): Promise<DevServer> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [WRANGLER_BIN, "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persistTo, "--show-interactive-dev-session=false", "--log-level", options.directUserWorker ? "debug" : "warn", ...extraArgs], {
    cwd: checkout,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    // its own process group, so stopping it stops the workerd processes it starts (a SIGTERM to wrangler alone has
    // left a workerd running after the benchmark)
    detached: true,
  });
  running.add(child);
  let output = "";
  let userWorkerUrl: string | undefined;
  // the end of the output before this chunk, so a line split across two chunks is still seen whole
  let carry = "";
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-8000);
    if (options.directUserWorker) {
      // scanned in every chunk, not in `output`: debug output comes in bursts longer than what `output` keeps.
      // The last one named wins (a reload may move it).
      const scanned = carry + text;
      for (const match of scanned.matchAll(/"userWorkerUrl":\{"protocol":"(http:)","hostname":"([^"]+)","port":"(\d+)"\}/g)) userWorkerUrl = `${match[1]}//${match[2]}:${match[3]}`;
      carry = scanned.slice(-1000);
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    // whatever of the group outlived wrangler
    signalGroup(child, "SIGKILL");
    running.delete(child);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${url}/__bench/ready`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (options.directUserWorker && userWorkerUrl === undefined) throw new Error("wrangler has not named the Worker's own socket yet");
      const direct = userWorkerUrl === undefined ? {} : { userWorkerUrl };
      return { url, pid: child.pid as number, bootMs: performance.now() - started, ...direct, inspectorPort, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await stop();
  throw new Error(`wrangler dev did not answer within ${timeoutMs / 1000} s:\n${output}`);
}

export interface WorkerSize {
  /** What wrangler reports as the upload, gzipped (the number the 10 MiB limit applies to). */
  readonly gzip_bytes: number;
  readonly upload_bytes: number;
  /** The same, measured here: every module in the dry-run output (no source map), gzip level 9. */
  readonly gzip_bytes_measured: number;
  readonly modules: Record<string, number>;
}

/** `wrangler deploy --dry-run --outdir <tmp>`: the Worker bundle as it would be uploaded. */
export async function workerBundleSize(): Promise<WorkerSize> {
  const outdir = mkdtempSync(join(tmpdir(), "bench-worker-"));
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [WRANGLER_BIN, "deploy", "--dry-run", "--outdir", outdir], { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrangler deploy --dry-run exited with ${code}:\n${text}`))));
    });
    const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
    if (!match) throw new Error(`wrangler deploy --dry-run printed no "Total Upload" line:\n${output}`);
    const modules: Record<string, number> = {};
    let measured = 0;
    for (const name of readdirSync(outdir)) {
      if (name.endsWith(".map") || name === "README.md") continue;
      const gz = gzipSync(readFileSync(join(outdir, name)), { level: 9 }).byteLength;
      modules[name.replace(/^[0-9a-f]{40}-/, "")] = gz;
      measured += gz;
    }
    return { upload_bytes: Math.round(Number(match[1]) * 1024), gzip_bytes: Math.round(Number(match[2]) * 1024), gzip_bytes_measured: measured, modules };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Resident memory (bytes) of every workerd process below `rootPid`: wrangler dev runs one. */
export function workerdResidentBytes(rootPid: number): number {
  let total = 0;
  for (const bytes of workerdResidentByPid(rootPid).values()) total += bytes;
  if (total === 0) throw new Error(`no workerd process below pid ${rootPid}`);
  return total;
}

/** Resident memory (bytes) of each workerd process below `rootPid`, by pid (processes that exit meanwhile are left out). */
export function workerdResidentByPid(rootPid: number): Map<number, number> {
  const children = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // the name is in parentheses and may hold spaces; the parent pid is the second field after it
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const parent = Number(stat.slice(close + 2).split(" ")[1]);
      names.set(Number(entry), name);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // the process exited while we looked
    }
  }
  const rss = new Map<number, number>();
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    for (const child of children.get(pid) ?? []) pending.push(child);
    if (names.get(pid) !== "workerd") continue;
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) rss.set(pid, Number(match[1]) * 1024);
    } catch {
      // exited
    }
  }
  return rss;
}
