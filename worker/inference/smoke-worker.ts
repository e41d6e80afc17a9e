/// <reference path="../../test/fixtures/onnx/binary-modules.d.ts" />
// A stand-alone Worker that proves onnxruntime-web loads and runs under `wrangler dev` (same esbuild bundling as a
// deploy) and lets you measure what ORT adds to the upload. Not part of the app.
//
//   npx wrangler dev worker/inference/smoke-worker.ts --port 8797      then  curl http://127.0.0.1:8797/
//   npx wrangler deploy worker/inference/smoke-worker.ts --dry-run --outdir /tmp/ort-smoke
import mtmlFile from "../../test/fixtures/onnx/mtml.dynamic-int8.onnx.bin";
import { float32Feed, int64Feed } from "../../core/inference/feeds";
import { readOnnxModelInfo } from "../../core/inference/onnx-model-info";
import type { ModelSession } from "../../core/inference/types";
import { createWorkerdOrtAdapter } from "./ort-web-workerd";

const adapter = createWorkerdOrtAdapter();
let session: Promise<ModelSession> | undefined;

export default {
  async fetch(): Promise<Response> {
    const firstRequest = session === undefined;
    session ??= adapter.createSession(new Uint8Array(mtmlFile));
    const ready = await session;
    const batch = 2;
    const out = await ready.run({
      user_id: int64Feed([1, 2], [batch]),
      item_id: int64Feed([3, 4], [batch]),
      author_id: int64Feed([5, 6], [batch]),
      tag_ids: int64Feed([1, 2, 0, 0, 3, 0, 0, 0], [batch, 4]),
      tag_mask: float32Feed([1, 1, 0, 0, 1, 0, 0, 0], [batch, 4]),
      dense: float32Feed(new Float32Array(batch * 10).fill(0.5), [batch, 10]),
    });
    return Response.json({
      runtime: ready.runtimeName,
      firstRequest,
      metadata: readOnnxModelInfo(new Uint8Array(mtmlFile)).metadataProps,
      probabilities: Array.from(out.probabilities!),
    });
  },
} satisfies ExportedHandler;
