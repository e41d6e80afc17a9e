import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";

/**
 * Import cycles among core/, worker/, scripts/ and models/, at three granularities:
 * - files: a module imports itself through a chain of imports;
 * - areas (`core/funnel`, `worker/routes`; files directly in a layer form the layer's own area): a cycle between
 *   areas is invisible at the file level (core/features/fit-spec.ts → core/eval/types.ts, core/eval/systems →
 *   core/features/...) yet still makes the two areas one unit that cannot be understood or moved apart;
 * - layers (`core`, `worker`, `scripts`, `models`): catches core reading an artefact of models/ that models/ code
 *   itself builds from core.
 * Type-only imports (`import type`, `import("…")` in types) count: the TypeScript parser reports them because the
 * shared config sets `tsPreCompilationDeps`.
 */

export type CycleGranularity = "file" | "area" | "layer";

/** One `import` in a source file that contributes an edge to a cycle. */
export interface ImportWitness {
  readonly fromFile: string;
  readonly toFile: string;
  readonly typeOnly: boolean;
}

/** An edge between two nodes of a cycle, with every file import that makes it. */
export interface CycleEdge {
  readonly from: string;
  readonly to: string;
  readonly imports: readonly ImportWitness[];
}

/** A strongly connected component: every node reaches every other through the edges listed. */
export interface ImportCycle {
  readonly granularity: CycleGranularity;
  readonly nodes: readonly string[];
  readonly edges: readonly CycleEdge[];
}

export const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CRUISED_LAYERS = ["core", "worker", "scripts", "models"] as const;

/** The import graph of the cruised layers: file → its resolved imports within the layers. */
export async function cruiseImportGraph(root: string = REPOSITORY_ROOT): Promise<ImportWitness[]> {
  const options = await extractDepcruiseOptions(join(root, ".dependency-cruiser.cjs"));
  // Cycles are computed below at three granularities, so the rule set's own per-edge violations are not needed.
  const { output } = await cruise([...CRUISED_LAYERS], { ...options, baseDir: root, validate: false, ruleSet: {} }, undefined, { tsConfig: extractTSConfig(join(root, "tsconfig.json")) });
  if (typeof output === "string") throw new Error("dependency-cruiser returned a formatted report instead of a cruise result");
  return importsOf(output);
}

function importsOf(result: ICruiseResult): ImportWitness[] {
  const imports: ImportWitness[] = [];
  for (const module of result.modules) {
    for (const dependency of module.dependencies) {
      if (dependency.coreModule || dependency.couldNotResolve || !isCruisedLayerPath(dependency.resolved)) continue;
      const typeOnly = dependency.dependencyTypes.includes("type-only") || dependency.dependencyTypes.includes("type-import");
      imports.push({ fromFile: module.source, toFile: dependency.resolved, typeOnly });
    }
  }
  return imports;
}

function isCruisedLayerPath(path: string): boolean {
  return CRUISED_LAYERS.some((layer) => path.startsWith(`${layer}/`));
}

export function nodeOf(file: string, granularity: CycleGranularity): string {
  if (granularity === "file") return file;
  const segments = file.split("/");
  if (granularity === "layer" || segments.length <= 2) return segments[0] ?? file;
  return `${segments[0]}/${segments[1]}`;
}

/** Every cycle of the import graph at one granularity, as strongly connected components in a stable order. */
export function findCycles(imports: readonly ImportWitness[], granularity: CycleGranularity): ImportCycle[] {
  const edges = new Map<string, Map<string, ImportWitness[]>>();
  for (const witness of imports) {
    const from = nodeOf(witness.fromFile, granularity);
    const to = nodeOf(witness.toFile, granularity);
    if (from === to && granularity !== "file") continue;
    const targets = edges.get(from) ?? new Map<string, ImportWitness[]>();
    edges.set(from, targets);
    const witnesses = targets.get(to) ?? [];
    targets.set(to, witnesses);
    witnesses.push(witness);
  }
  const cycles: ImportCycle[] = [];
  for (const component of stronglyConnectedComponents(edges)) {
    const members = new Set(component);
    const selfLoop = component.length === 1 && edges.get(component[0] ?? "")?.has(component[0] ?? "") === true;
    if (component.length < 2 && !selfLoop) continue;
    const cycleEdges: CycleEdge[] = [];
    for (const from of [...component].sort()) {
      for (const [to, witnesses] of [...(edges.get(from) ?? new Map<string, ImportWitness[]>())].sort(([a], [b]) => a.localeCompare(b))) {
        if (members.has(to)) cycleEdges.push({ from, to, imports: [...witnesses].sort((a, b) => `${a.fromFile}→${a.toFile}`.localeCompare(`${b.fromFile}→${b.toFile}`)) });
      }
    }
    cycles.push({ granularity, nodes: [...component].sort(), edges: cycleEdges });
  }
  return cycles.sort((a, b) => (a.nodes[0] ?? "").localeCompare(b.nodes[0] ?? ""));
}

/** Tarjan's algorithm, iterative so a deep import chain cannot overflow the stack. */
function stronglyConnectedComponents(edges: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  const nodes = new Set<string>();
  for (const [from, targets] of edges) {
    nodes.add(from);
    for (const to of targets.keys()) nodes.add(to);
  }
  const indexOf = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let nextIndex = 0;
  for (const start of [...nodes].sort()) {
    if (indexOf.has(start)) continue;
    const work: { node: string; targets: Iterator<string> }[] = [];
    const visit = (node: string): void => {
      indexOf.set(node, nextIndex);
      lowLink.set(node, nextIndex);
      nextIndex += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, targets: edges.get(node)?.keys() ?? new Set<string>().values() });
    };
    visit(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const next = frame.targets.next();
      if (!next.done) {
        const target = next.value;
        if (!indexOf.has(target)) visit(target);
        else if (onStack.has(target)) lowLink.set(frame.node, Math.min(lowLink.get(frame.node)!, indexOf.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) lowLink.set(parent.node, Math.min(lowLink.get(parent.node)!, lowLink.get(frame.node)!));
      if (lowLink.get(frame.node) === indexOf.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

export function formatCycles(cycles: readonly ImportCycle[]): string {
  const lines: string[] = [];
  for (const cycle of cycles) {
    lines.push(`${cycle.granularity} cycle among ${cycle.nodes.join(", ")}`);
    for (const edge of cycle.edges) {
      if (cycle.granularity !== "file") lines.push(`  ${edge.from} → ${edge.to}`);
      for (const witness of edge.imports) lines.push(`${cycle.granularity === "file" ? "  " : "    "}${witness.fromFile} imports ${witness.typeOnly ? "type from " : ""}${witness.toFile}`);
    }
  }
  return lines.join("\n");
}
