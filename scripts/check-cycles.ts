/**
 * npm run check:cycles
 *
 * Exits 1 when core/, worker/, scripts/ or models/ hold an import cycle between files, areas (core/funnel) or layers
 * (core), listing every import that forms each one; test/node/architecture/import-cycles.test.ts runs the same check.
 */
import { cruiseImportGraph, findCycles, formatCycles, type CycleGranularity } from "./lib/import-cycles";

const GRANULARITIES: readonly CycleGranularity[] = ["file", "area", "layer"];

const imports = await cruiseImportGraph();
const cycles = GRANULARITIES.flatMap((granularity) => findCycles(imports, granularity));
if (cycles.length > 0) {
  console.error(formatCycles(cycles));
  console.error(`\n${cycles.length} import cycle(s): ${GRANULARITIES.map((granularity) => `${cycles.filter((cycle) => cycle.granularity === granularity).length} between ${granularity}s`).join(", ")}`);
  process.exit(1);
}
console.log(`no import cycles among ${new Set(imports.map((witness) => witness.fromFile)).size} files`);
