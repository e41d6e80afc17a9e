import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      main: "./worker/index.ts",
      miniflare: { bindings: { INGEST_TOKEN: "test-ingest-token", ADMIN_TOKEN: "test-admin-token" } },
    }),
  ],
  test: {
    name: "workerd",
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
