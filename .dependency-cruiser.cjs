// Import-cycle check for the TypeScript sources (`npm run check:cycles`, and
// test/node/architecture/import-cycles.test.ts reads this same file).
// Type-only imports count: a type cycle still ties the modules' designs together,
// and `tsPreCompilationDeps` makes the TypeScript parser report them.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A module must not import itself through a chain of imports (type-only imports included).",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Only the project's own sources: packages cannot import back into them.
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/" },
    includeOnly: "^(core|worker|scripts|models)/",
    enhancedResolveOptions: {
      extensions: [".ts", ".d.ts", ".js", ".mjs", ".json"],
    },
  },
};
