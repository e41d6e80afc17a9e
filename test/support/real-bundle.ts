// The real data set's default-split bundle, built by `npm run pipeline` and cached per code version in the temp
// directory (the pipeline is seeded, so a cached bundle is what the code would build again).
import { access, mkdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, sourceHash } from "./fixture-bundle";

export const DEFAULT_TRAIN_END = "20220503";

/**
 * The bundle directory; `tune: false` builds it with the serving config's defaults (`--no-tune`), `embeddings`
 * stores its embeddings in another format than the pipeline's default (`--embeddings`).
 */
export async function realDataBundle(options: { tune: boolean; embeddings?: "f32" } = { tune: true }): Promise<string> {
  const flavour = `${options.tune ? "" : " no-tune"}${options.embeddings ? ` embeddings ${options.embeddings}` : ""}`;
  const root = join(tmpdir(), `explore-edge-ranker-real-${await sourceHash(`kuairand-pure ${DEFAULT_TRAIN_END} seed 1${flavour}`)}`);
  const bundle = join(root, "bundle");
  if (await access(join(bundle, "manifest.json")).then(() => true, () => false)) return bundle;
  const building = `${root}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  await run(["--import", "tsx", "scripts/pipeline.ts", "--data", "data/kuairand-pure", "--train-end", DEFAULT_TRAIN_END, "--out", join(building, "bundle"), "--seed", "1", ...(options.tune ? [] : ["--no-tune"]), ...(options.embeddings ? ["--embeddings", options.embeddings] : [])]);
  await rename(building, root).catch(async () => rm(building, { recursive: true, force: true }));
  return bundle;
}
