import type { FeedElementType, Feeds, TensorFeed, TensorSpec } from "./types";

const ARRAY_TYPE_OF: Record<FeedElementType, string> = {
  float32: "Float32Array",
  int64: "BigInt64Array",
  int32: "Int32Array",
};

function dataMatchesType(feed: TensorFeed): boolean {
  switch (feed.type) {
    case "float32":
      return feed.data instanceof Float32Array;
    case "int64":
      return feed.data instanceof BigInt64Array;
    case "int32":
      return feed.data instanceof Int32Array;
    default:
      return false;
  }
}

const formatDims = (dims: readonly (number | string)[]) => `[${dims.join(", ")}]`;

/**
 * Checks feeds against the model's declared inputs and throws one Error listing every problem found:
 * missing or unknown names, dtype, typed-array class, rank, fixed dims, symbolic dims that must agree across inputs
 * (every input with a "batch" dim must use the same batch size), and element counts.
 */
export function validateFeeds(modelName: string, inputs: readonly TensorSpec[], feeds: Feeds): void {
  const problems: string[] = [];
  const expected = new Set(inputs.map((i) => i.name));
  for (const name of Object.keys(feeds)) {
    if (!expected.has(name)) problems.push(`unknown input "${name}" (model inputs: ${[...expected].join(", ")})`);
  }
  const symbolSizes = new Map<string, { size: number; from: string }>();
  for (const spec of inputs) {
    const feed = feeds[spec.name];
    if (feed === undefined) {
      problems.push(`missing input "${spec.name}" (${spec.type} ${spec.dims ? formatDims(spec.dims) : "[?]"})`);
      continue;
    }
    if (feed.type !== spec.type) problems.push(`input "${spec.name}": type ${feed.type}, model expects ${spec.type}`);
    if (!dataMatchesType(feed)) {
      const actual = (feed.data as object | null)?.constructor?.name ?? typeof feed.data;
      problems.push(`input "${spec.name}": data is ${actual}, type ${feed.type} needs ${ARRAY_TYPE_OF[feed.type] ?? "a typed array"}`);
    }
    const badDim = feed.dims.find((d) => !Number.isSafeInteger(d) || d < 0);
    if (badDim !== undefined) {
      problems.push(`input "${spec.name}": dims ${formatDims(feed.dims)} contain ${badDim}, not a non-negative integer`);
      continue;
    }
    const count = feed.dims.reduce((a, b) => a * b, 1);
    if (feed.data.length !== count) {
      problems.push(`input "${spec.name}": dims ${formatDims(feed.dims)} need ${count} elements, data has ${feed.data.length}`);
    }
    if (spec.dims === undefined) continue;
    if (feed.dims.length !== spec.dims.length) {
      problems.push(`input "${spec.name}": rank ${feed.dims.length} ${formatDims(feed.dims)}, model expects rank ${spec.dims.length} ${formatDims(spec.dims)}`);
      continue;
    }
    spec.dims.forEach((declared, axis) => {
      const actual = feed.dims[axis]!;
      if (typeof declared === "number") {
        // ORT reports unknown dims as -1 or 0-less placeholders; only positive declared dims are enforced.
        if (declared > 0 && declared !== actual) {
          problems.push(`input "${spec.name}": dim ${axis} is ${actual}, model expects ${declared} (${formatDims(spec.dims!)})`);
        }
        return;
      }
      if (declared === "") return;
      const seen = symbolSizes.get(declared);
      if (seen === undefined) symbolSizes.set(declared, { size: actual, from: spec.name });
      else if (seen.size !== actual) {
        problems.push(`input "${spec.name}": dim ${axis} ("${declared}") is ${actual}, but "${seen.from}" has ${declared}=${seen.size}`);
      }
    });
  }
  if (problems.length > 0) throw new Error(`${modelName}: invalid feeds: ${problems.join("; ")}`);
}
