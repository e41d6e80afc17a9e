// `npm start` orchestration: publish a bundle into the local KV wrangler dev will read, start wrangler dev, forward
// signals. Uses --bundle/--persist-to/--port so it touches neither bundles/default nor the shared .wrangler state
// (it does create .dev.vars from .dev.vars.example when missing, as npm start always does).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFixtureBundle } from "../../support/fixture-bundle";

const root = join(import.meta.dirname, "..", "..", "..");
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "bundle-start-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

function start(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // What `npm start` runs (package.json): one Node process with tsx as a loader, no wrapper in between.
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "scripts", "start.ts"), ...args, "--show-interactive-dev-session=false"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  return { child, output: () => output, exited };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, log: () => string): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 250));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${log()}`);
}

describe("npm start (scripts/start.ts)", () => {
  it("publishes the bundle locally, serves it with wrangler dev, skips publishing when already active, and forwards SIGTERM", async () => {
    const bundleDir = join(work, "bundle");
    await copyFixtureBundle(bundleDir, "start-v1");
    const persistTo = join(work, "state");
    const port = await freePort();

    const first = start(["--bundle", bundleDir, "--persist-to", persistTo, "--port", String(port)]);
    const body = await until(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        const json = (await response.json()) as { bundle: { version: string } | null };
        return json.bundle === null ? undefined : json;
      },
      "wrangler dev to serve the published bundle",
      first.output,
    );
    expect(body).toMatchObject({ status: "ok", bundle: { version: "start-v1" } });
    expect(first.output()).toMatch(/\[start\] published bundle start-v1 locally/);
    first.child.kill("SIGTERM");
    await first.exited;
    // wrangler dev went down with it: nothing answers on the port any more.
    await until(async () => fetch(`http://127.0.0.1:${port}/health`).then(() => undefined, () => true), "the port to close", first.output);

    const second = start(["--bundle", bundleDir, "--persist-to", persistTo, "--port", String(port)]);
    await until(async () => (/\[start\] local KV already serves bundle start-v1/.test(second.output()) ? true : undefined), "the skip message", second.output);
    second.child.kill("SIGTERM");
    await second.exited;
    expect(second.output()).not.toMatch(/published bundle/);
  }, 180_000);
});
