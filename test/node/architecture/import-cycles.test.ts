import { beforeAll, describe, expect, it } from "vitest";
import { cruiseImportGraph, findCycles, formatCycles, type CycleGranularity, type ImportWitness } from "../../../scripts/lib/import-cycles";

// The same check as `npm run check:cycles`: each granularity fails on its own and prints every import in its cycles.
describe("import cycles among core/, worker/, scripts/ and models/", () => {
  let imports: ImportWitness[];
  beforeAll(async () => {
    imports = await cruiseImportGraph();
  }, 120_000);

  it("the cruise sees the sources and their type-only imports", () => {
    const files = new Set(imports.map((witness) => witness.fromFile));
    for (const layer of ["core/", "worker/", "scripts/", "models/"]) expect([...files].some((file) => file.startsWith(layer)), layer).toBe(true);
    expect(imports.some((witness) => witness.typeOnly)).toBe(true);
  });

  it.each<CycleGranularity>(["file", "area", "layer"])("no cycle between %ss", (granularity) => {
    // Compared as text so a failure prints the cycles as lines rather than a diff of nested objects.
    expect(formatCycles(findCycles(imports, granularity))).toBe("");
  });
});

describe("findCycles", () => {
  const graph: ImportWitness[] = [
    { fromFile: "core/a/one.ts", toFile: "core/b/two.ts", typeOnly: false },
    { fromFile: "core/b/three.ts", toFile: "core/a/four.ts", typeOnly: true },
    { fromFile: "core/b/two.ts", toFile: "core/c/five.ts", typeOnly: false },
    { fromFile: "core/c/five.ts", toFile: "core/c/six.ts", typeOnly: false },
    { fromFile: "core/c/six.ts", toFile: "core/c/five.ts", typeOnly: true },
    { fromFile: "scripts/seven.ts", toFile: "core/a/one.ts", typeOnly: false },
  ];

  it("finds a file cycle through a type-only import", () => {
    expect(findCycles(graph, "file").map((cycle) => cycle.nodes)).toEqual([["core/c/five.ts", "core/c/six.ts"]]);
  });

  it("finds an area cycle that no file cycle shows, with the imports that make each edge", () => {
    const cycles = findCycles(graph, "area");
    expect(cycles.map((cycle) => cycle.nodes)).toEqual([["core/a", "core/b"]]);
    expect(cycles[0]?.edges.map((edge) => [edge.from, edge.to, edge.imports.map((witness) => witness.fromFile)])).toEqual([
      ["core/a", "core/b", ["core/a/one.ts"]],
      ["core/b", "core/a", ["core/b/three.ts"]],
    ]);
  });

  it("ignores imports within one layer at the layer granularity", () => {
    expect(findCycles(graph, "layer")).toEqual([]);
  });
});
