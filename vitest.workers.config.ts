import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      main: "./worker/index.ts",
      // refresh 0: every request re-reads `bundle/active`, so tests see a newly published version at once
      miniflare: { bindings: { INGEST_TOKEN: "test-ingest-token", ADMIN_TOKEN: "test-admin-token", BUNDLE_REFRESH_SECONDS: "0" } },
    }),
  ],
  test: {
    name: "workerd",
    include: ["test/worker/**/*.test.ts"],
    globalSetup: ["./test/support/worker-global-setup.ts", "./test/support/log-slice-setup.ts"],
    testTimeout: 60_000,
  },
});
