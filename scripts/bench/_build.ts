import { buildNativeIndex, serializeNativeIndex } from "../ann/native";
import { lowRankVectors } from "../ann/synthetic";
for (const [n, scalar] of [[100000, "f32"], [250000, "i8"]] as const) {
  const v = lowRankVectors({ rows: n, dims: 64, seed: 1 });
  const t = performance.now();
  const idx = buildNativeIndex(v, 64, { metric: "cos", scalar, threads: 2 });
  const b = serializeNativeIndex(idx);
  console.log(n, scalar, (performance.now() - t).toFixed(0), "ms", b.length);
}
