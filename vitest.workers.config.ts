import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      main: "./worker/index.ts",
    }),
  ],
  test: {
    name: "workerd",
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
