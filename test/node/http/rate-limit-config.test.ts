import { unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { RATE_LIMIT_PERIOD_SECONDS } from "../../../worker/contract/errors";

describe("the rate limit's binding", () => {
  it("has the period that Retry-After names", () => {
    const config = unstable_readConfig({ config: "wrangler.toml" });
    const binding = (config.ratelimits as { name: string; simple: { limit: number; period: number } }[]).find((entry) => entry.name === "RATE_LIMITER");
    expect(binding?.simple.period).toBe(RATE_LIMIT_PERIOD_SECONDS);
    expect(binding?.simple.limit).toBeGreaterThan(0);
  });
});
