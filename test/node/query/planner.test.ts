import { describe, expect, it } from "vitest";
import { OPERATORS, analyzeQuery, operatorTable, planQuery, type PlannedStep } from "../../../core/query";
import { SEED_QUERY } from "./fixture-graph";

const summary = (step: PlannedStep) => `${step.operator.name}: ${step.input} -> ${step.output}`;

describe("planner", () => {
  it("types the seed query step by step, fills defaults and bounds every step", () => {
    const plan = planQuery(SEED_QUERY);
    expect(plan.root).toMatchObject({ name: "user", output: "user" });
    expect(plan.steps.map(summary)).toEqual([
      "let: user -> user",
      "liked: user -> account",
      "account_nn: account -> account",
      "posted_media: account -> media",
      "filter: media -> media",
      "rank: media -> media",
      "diversify_by: media -> media",
    ]);
    const [, liked, accountNn, postedMedia, filter, rank, diversify] = plan.steps as PlannedStep[] & { length: 7 };
    expect(liked?.args.integer("max_num_to_retrieve")).toBe(30);
    expect(accountNn?.args.integer("k")).toBe(10); // default
    expect(accountNn?.args.text("embedding_config")).toBe("default");
    expect(postedMedia?.args.has("max_age_hours")).toBe(false);
    expect(filter?.args.decimal("non_recommendable_model_threshold")).toBe(0.2);
    expect(filter?.args.boolean("exclude_seen")).toBe(true);
    expect(rank?.args.text("ranking_model")).toBe("default");
    expect(diversify?.args.text("attribute")).toBe("seed_id");
    expect(plan.steps[0]?.bindings).toMatchObject([{ name: "seed_id", value: { kind: "expression", name: "user_id" } }]);
    // 1 user -> 30 liked accounts -> ×10 neighbours -> ×10 media, then filters/rank/diversify never grow the stream.
    expect(plan.worstCase).toEqual([1, 1, 30, 300, 3000, 3000, 3000, 3000]);
    expect(plan.text).toBe(SEED_QUERY);
  });

  it("binds positional arguments in declared order, and accepts words or strings for enums and names", () => {
    const plan = planQuery('user.engaged(home, 5).posted_media(2, 48).rank("by_id").let(g=author_id).diversify_by(g, method="round_robin", max_per_value=1)');
    const [engaged, posted, rank, , diversify] = plan.steps;
    expect(engaged?.args.text("surface")).toBe("home");
    expect(engaged?.args.integer("max")).toBe(5);
    expect(posted?.args.integer("max_media_per_account")).toBe(2);
    expect(posted?.args.decimal("max_age_hours")).toBe(48); // an integer literal is a valid decimal
    expect(rank?.args.text("ranking_model")).toBe("by_id");
    expect(diversify?.args.text("method")).toBe("round_robin");
    expect(diversify?.args.integer("max_per_value")).toBe(1);
    expect(plan.worstCase).toEqual([1, 5, 10, 10, 10, 10]);
  });

  it("carries attributes through later steps and lets a later let rebind them", () => {
    const plan = planQuery("user.let(seed_id=user_id).liked().let(seed_id=account_id, hop=1).posted_media().diversify_by(hop)");
    expect(plan.steps[2]?.bindings.map((b) => b.name)).toEqual(["seed_id", "hop"]);
  });

  it("accepts the other roots: seed streams (sized at run time) and literal ids", () => {
    const seeds = planQuery("seed_accounts.let(seed_id=account_id).account_nn(k=5).posted_media(max_media_per_account=3)");
    expect(seeds.root).toMatchObject({ name: "seed_accounts", output: "account", ids: undefined });
    expect(seeds.worstCase).toBeUndefined();
    const literal = planQuery("media([7, 9, 11]).cooccurred(k=4).limit(5)");
    expect(literal.root).toMatchObject({ name: "media", output: "media", ids: [7, 9, 11] });
    expect(literal.worstCase).toEqual([3, 12, 5]);
    expect(planQuery("account(12).posted_media()").root.ids).toEqual([12]);
    expect(planQuery("seed_media.media_nn()").root.output).toBe("media");
  });

  it("gives the same plan text whatever the layout and comments", () => {
    const a = planQuery("user . popular ( n = 10 ) # cold start\n .filter( )");
    const b = planQuery("user.popular(n=10).filter()");
    expect(a.text).toBe(b.text);
    expect(a.text).toBe("user\n.popular(n=10)\n.filter()");
  });

  it("reports every type problem at once, in text order", () => {
    const analysis = analyzeQuery("user.likd().posted_media(max=3).rank(ranking_model=1).diversify_by(seed_id)");
    expect(analysis.plan).toBeUndefined();
    expect(analysis.errors.map((e) => [e.code, e.column])).toEqual([
      ["unknown_operator", 6],
      ["unknown_argument", 26],
      ["argument_type", 52],
      ["unbound_attribute", 68],
    ]);
  });

  it("checks stream types even after a mismatch, from the declared output onward", () => {
    const analysis = analyzeQuery("user.posted_media().account_nn()");
    expect(analysis.errors.map((e) => e.reason)).toEqual([
      "posted_media expects an account stream but the root user produces user",
      "account_nn expects an account stream but posted_media produces media",
      "a query must end in a media stream, but it ends with account_nn, and account_nn produces account; continue with posted_media",
    ]);
  });

  it("checks model and embedding names only against the names the caller knows", () => {
    expect(() => planQuery("user.popular().rank(ranking_model=anything)")).not.toThrow();
    expect(() => planQuery("user.popular().rank(ranking_model=mtml_v2)", { rankingModels: ["default", "mtml_v2"] })).not.toThrow();
    expect(() => planQuery("user.popular().rank(ranking_model=mtml_v3)", { rankingModels: ["default", "mtml_v2"] })).toThrow(/unknown ranking model mtml_v3/);
    expect(() => planQuery("media(1).media_nn(embedding_config=clip)", { embeddingConfigs: ["default"] })).toThrow(/unknown embedding configuration clip/);
  });

  it("publishes an operator table with the operators the language promises", () => {
    const table = operatorTable();
    const byName = new Map(table.map((row) => [row.name, row]));
    for (const name of ["let", "liked", "liked_media", "followed", "engaged", "engaged_media", "account_nn", "media_nn", "cooccurred", "posted_media", "popular", "trending", "two_hop", "filter", "rank", "diversify_by", "limit"]) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(byName.get("posted_media")).toMatchObject({ input: ["account"], output: "media", size: "≤ input × max_media_per_account" });
    expect(byName.get("liked")?.arguments).toEqual([{ name: "max_num_to_retrieve", type: "integer 1..1000", required: false, default: 30, doc: "how many accounts" }]);
    expect(table.length).toBe(OPERATORS.size);
  });
});
