import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BundleError } from "../../../core/bundle/errors";
import { BUNDLE_FORMAT, buildManifestFiles, hashBytes, parseManifest, parseManifestText, verifyBundleFiles } from "../../../core/bundle/manifest";
import { patternBytes } from "../../../core/bundle/sample";

const valid = {
  format: BUNDLE_FORMAT,
  version: "2026-05-03.1",
  created_at: "2026-05-04T01:02:03.000Z",
  files: { "models/mtml.onnx": { bytes: 3, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" } },
  feature_spec: { dims: [1, 2] },
  metrics: { auc: 0.7 },
};

describe("bundle manifest", () => {
  it("accepts the required fields and passes every other field through", () => {
    const manifest = parseManifest(valid);
    expect(manifest).toEqual(valid);
    expect(manifest.feature_spec).toEqual({ dims: [1, 2] });
  });

  it("names every problem with its JSON path", () => {
    const attempt = () =>
      parseManifest({
        format: "other@1",
        version: "../x",
        created_at: "yesterday",
        files: { "/abs": { bytes: -1, sha256: "XYZ" }, "a/../b": { bytes: 1, sha256: "0".repeat(64) }, "x#1": { bytes: 1, sha256: "0".repeat(64) } },
      });
    expect(attempt).toThrow(BundleError);
    const reasons = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as BundleError).reasons.join("\n");
      }
      return "";
    })();
    expect(reasons).toMatch(/format: /);
    expect(reasons).toMatch(/version: must be 1–128 characters/);
    expect(reasons).toMatch(/created_at: /);
    expect(reasons).toMatch(/files\.\/abs\.bytes: /);
    expect(reasons).toMatch(/files\.\/abs\.sha256: must be 64 lowercase hex digits/);
    expect(reasons).toMatch(/file path "\/abs" is absolute/);
    expect(reasons).toMatch(/file path "a\/..\/b" has an empty, . or .. segment/);
    expect(reasons).toMatch(/file path "x#1" contains # \(reserved for chunk keys\)/);
  });

  it("reports invalid JSON text as such", () => {
    expect(() => parseManifestText("{not json", "bundles/x/manifest.json")).toThrow(/bundles\/x\/manifest.json is not valid JSON/);
    expect(() => parseManifestText(JSON.stringify({ ...valid, files: undefined }))).toThrow(/files: /);
  });

  it("hashes with SHA-256 like node:crypto (known vector and random data)", async () => {
    expect(await hashBytes(new TextEncoder().encode("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await hashBytes(new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const data = patternBytes(100_003, 7);
    expect(await hashBytes(data)).toBe(createHash("sha256").update(data).digest("hex"));
    // A view hashes only its own bytes.
    expect(await hashBytes(data.subarray(10, 20))).toBe(createHash("sha256").update(data.subarray(10, 20)).digest("hex"));
  });

  it("builds the files section (sorted) and verifies files against it", async () => {
    const files = new Map([
      ["z.bin", patternBytes(10, 1)],
      ["a/b.json", new TextEncoder().encode("[1]")],
    ]);
    const section = await buildManifestFiles(files);
    expect(Object.keys(section)).toEqual(["a/b.json", "z.bin"]);
    expect(section["z.bin"]).toEqual({ bytes: 10, sha256: createHash("sha256").update(files.get("z.bin") as Uint8Array).digest("hex") });
    await expect(buildManifestFiles({ "../escape": new Uint8Array(1) })).rejects.toThrow(/the path has an empty, \. or \.\. segment/);

    const manifest = parseManifest({ ...valid, files: section });
    expect(await verifyBundleFiles(manifest, files)).toEqual({ problems: [], unlisted: [] });

    const tampered = new Map(files);
    const flipped = (files.get("z.bin") as Uint8Array).slice();
    flipped[3] = (flipped[3] as number) ^ 1;
    tampered.set("z.bin", flipped);
    tampered.delete("a/b.json");
    tampered.set("stray.txt", new Uint8Array(1));
    const result = await verifyBundleFiles(manifest, tampered);
    expect(result.problems).toEqual([
      "a/b.json: missing",
      expect.stringMatching(/^z\.bin: sha256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}$/),
    ]);
    expect(result.unlisted).toEqual(["stray.txt"]);
    tampered.set("z.bin", new Uint8Array(9));
    expect((await verifyBundleFiles(manifest, tampered)).problems).toContain("z.bin: 9 bytes, the manifest says 10");
  });
});
