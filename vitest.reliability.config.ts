import { defineConfig } from "vitest/config";

// The reliability sections' smoke tests that do not pass yet (`npm run test:reliability`), kept out of `npm test`
// until they do; the passing ones live in test/node/reliability and run with everything else. None today (fuzzing
// moved to test/node/reliability once it passed), so it passes with no test files.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    passWithNoTests: true,
    environment: "node",
    testTimeout: 600_000,
  },
});
