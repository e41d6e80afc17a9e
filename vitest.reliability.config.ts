import { defineConfig } from "vitest/config";

// The reliability sections' smoke tests that do not pass yet (`npm run test:reliability`), kept out of `npm test`
// until they do; the passing ones live in test/node/reliability and run with everything else.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
  },
});
