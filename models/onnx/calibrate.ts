// Min/max calibration of MatMul activations for static (QDQ W8A8) quantization, with any runtime adapter.
import type { Feeds, OnnxRuntimeAdapter } from "../../core/inference/types";
import { matMulActivationNames, withIntermediateOutputs, type ActivationRange } from "./quantize";

/**
 * Runs the fp32 model on each calibration batch and records the min/max of every MatMul activation input that the
 * quantizers would quantize. Graph inputs (e.g. a dense feature input fed straight into a MatMul) are measured from
 * the feeds themselves.
 */
export async function calibrateActivationRanges(
  modelBytes: Uint8Array,
  adapter: OnnxRuntimeAdapter,
  calibrationFeeds: readonly Feeds[],
  minElements = 256,
): Promise<Record<string, ActivationRange>> {
  if (calibrationFeeds.length === 0) throw new Error("calibrateActivationRanges: no calibration batches");
  const names = matMulActivationNames(modelBytes, minElements);
  const session = await adapter.createSession(modelBytes);
  const graphInputs = new Set(session.inputs.map((i) => i.name));
  await session.release();
  const intermediate = names.filter((n) => !graphInputs.has(n));
  const instrumented = await adapter.createSession(withIntermediateOutputs(modelBytes, intermediate));
  const ranges: Record<string, { min: number; max: number }> = {};
  const observe = (name: string, values: ArrayLike<number>) => {
    const range = (ranges[name] ??= { min: Infinity, max: -Infinity });
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < range.min) range.min = v;
      if (v > range.max) range.max = v;
    }
  };
  try {
    for (const feeds of calibrationFeeds) {
      const outputs = intermediate.length > 0 ? await instrumented.run(feeds, intermediate) : {};
      for (const name of names) {
        if (graphInputs.has(name)) {
          const feed = feeds[name];
          if (feed === undefined || feed.type !== "float32") throw new Error(`calibration feeds lack float32 input "${name}"`);
          observe(name, feed.data);
        } else observe(name, outputs[name]!);
      }
    }
  } finally {
    await instrumented.release();
  }
  return ranges;
}
