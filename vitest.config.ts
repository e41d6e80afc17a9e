import { defineConfig } from "vitest/config";

// Offline code runs in Node; Worker code runs inside workerd (see vitest.workers.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
        },
      },
      "./vitest.workers.config.ts",
    ],
  },
});
