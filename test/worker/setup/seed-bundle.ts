import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { publishBundle } from "../../../core/bundle/store";
import { buildManifestFiles } from "../../../core/bundle/manifest";
import { servingPublishOptions } from "../../../core/serving/bundle-manifest";
import { workersKvWriter } from "../../../worker/bundle/kv";
import "../../support/fixture-types";

/** The fixture bundle's files, decoded from what the global setup provided. */
export function fixtureFiles(): Map<string, Uint8Array> {
  const fixture = inject("fixtureBundle");
  return new Map(Object.entries(fixture.files).map(([path, base64]) => [path, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))]));
}

/**
 * Publishes the fixture bundle into this test file's KV (storage is isolated per test file) and activates it, as
 * `npm run publish` does: gzip where it pays, the files serving never reads left out.
 */
export async function seedFixtureBundle(version?: string): Promise<string> {
  const fixture = inject("fixtureBundle");
  const manifest = { ...(fixture.manifest as Record<string, unknown>), ...(version ? { version } : {}) };
  await publishBundle(workersKvWriter(env.BUNDLES), manifest, fixtureFiles(), servingPublishOptions(manifest));
  return manifest.version as string;
}

/**
 * Publishes the fixture bundle with its index split into item shards (the global setup built them) under `version`
 * and activates it: the Worker then searches the shards' Durable Objects instead of its own index.
 */
export async function seedShardedFixtureBundle(version: string): Promise<string> {
  const fixture = inject("fixtureBundle");
  const shards = inject("fixtureItemShards");
  const files = fixtureFiles();
  for (const [path, base64] of Object.entries(shards.files)) files.set(path, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  const base = fixture.manifest as { models: { retrieval: Record<string, unknown> } } & Record<string, unknown>;
  const manifest = { ...base, version, models: { ...base.models, retrieval: { ...base.models.retrieval, shards: shards.section } }, files: await buildManifestFiles(files) };
  await publishBundle(workersKvWriter(env.BUNDLES), manifest, files, servingPublishOptions(manifest));
  return version;
}
