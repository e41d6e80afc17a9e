import { defineConfig } from "vitest/config";

// The rolling-origin quality bars (`npm run test:rolling`): one tuned pipeline and one evaluation per window of the
// shipped data, ~18 minutes on 2 cores, so it runs on its own rather than inside `npm test`.
export default defineConfig({
  test: {
    include: ["test/rolling/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 45 * 60_000,
  },
});
