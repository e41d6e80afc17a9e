import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { sampleBundle, patternBytes } from "../../../core/bundle/sample";
import { loadBundle, publishBundle } from "../../../core/bundle/store";
import { WranglerRemoteKv, type CommandRunner } from "../../../scripts/lib/kv-remote";

/** Stands in for `wrangler kv key …--remote`: a map, with the CLI's behaviour for a missing key. */
function fakeWrangler() {
  const store = new Map<string, Uint8Array>();
  const calls: string[][] = [];
  const run: CommandRunner = async (args) => {
    calls.push([...args]);
    const [kv, key, operation, name] = args;
    expect([kv, key]).toEqual(["kv", "key"]);
    expect(args).toContain("--remote");
    const keyName = name as string;
    if (operation === "get") {
      const value = store.get(keyName);
      return value === undefined
        ? { code: 1, stdout: new Uint8Array(0), stderr: `✘ [ERROR] A request to the Cloudflare API failed.\n  get: 'key not found' [code: 10009]` }
        : { code: 0, stdout: value, stderr: "" };
    }
    if (operation === "put") {
      const path = args[args.indexOf("--path") + 1] as string;
      store.set(keyName, new Uint8Array(await readFile(path)));
      return { code: 0, stdout: new Uint8Array(0), stderr: "" };
    }
    if (operation === "delete") {
      store.delete(keyName);
      return { code: 0, stdout: new Uint8Array(0), stderr: "" };
    }
    return { code: 1, stdout: new Uint8Array(0), stderr: `unknown ${operation}` };
  };
  return { store, calls, run };
}

describe("WranglerRemoteKv", () => {
  it("publishes and reads back through `wrangler kv key` commands, pointer last", async () => {
    const wrangler = fakeWrangler();
    const kv = new WranglerRemoteKv({ configPath: "/repo/wrangler.toml", binding: "BUNDLES", environment: "production", run: wrangler.run });
    const { manifest, files } = await sampleBundle("r1", { "a.bin": patternBytes(70, 1), "b.txt": "hello" });
    await publishBundle(kv, manifest, files, { chunkBytes: 32 });
    const puts = wrangler.calls.filter((args) => args[2] === "put");
    expect(puts.at(-1)?.slice(0, 4)).toEqual(["kv", "key", "put", "bundle/active"]);
    expect(puts[0]).toEqual(["kv", "key", "put", expect.stringMatching(/^bundle\/r1\/files\//), "--binding", "BUNDLES", "--remote", "--config", "/repo/wrangler.toml", "--env", "production", "--path", expect.any(String)]);
    const loaded = await loadBundle(kv, "r1");
    expect(loaded.files.get("a.bin")).toEqual(files.get("a.bin"));
    expect(await kv.getText("bundle/nothing-here")).toBeNull();
    await kv.dispose();
  });

  it("reports a real failure (not a missing key) with wrangler's message", async () => {
    const kv = new WranglerRemoteKv({
      configPath: "wrangler.toml",
      binding: "BUNDLES",
      run: async () => ({ code: 1, stdout: new Uint8Array(0), stderr: "✘ [ERROR] You are not logged in" }),
    });
    await expect(kv.getText("bundle/active")).rejects.toThrow(/wrangler kv key get bundle\/active --binding BUNDLES --remote --config wrangler.toml failed \(exit 1\): ✘ \[ERROR\] You are not logged in/);
    await expect(kv.put("k", "v")).rejects.toThrow(/failed \(exit 1\)/);
  });
});
