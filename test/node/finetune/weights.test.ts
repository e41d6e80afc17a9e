// The trainer weights a bundle saves for fine-tuning (models/finetune/weights.ts): an exact round trip, and a model of
// another shape refused instead of half loaded.
import { describe, expect, it } from "vitest";
import { Rng } from "../../../models/autodiff";
import { encodeModelWeights, loadModelWeights, weightsArchitecture } from "../../../models/finetune/weights";
import { Mlp } from "../../../models/nn/layers";

describe("trainer weights", () => {
  it("restore every parameter exactly, with the architecture they were saved with", () => {
    const saved = new Mlp("net", [5, 4, 3], new Rng(1));
    const bytes = encodeModelWeights("net", saved, { sizes: [5, 4, 3] });
    const fresh = new Mlp("net", [5, 4, 3], new Rng(2));
    expect(fresh.parameters()[0]!.data).not.toEqual(saved.parameters()[0]!.data);
    loadModelWeights(fresh, bytes, "net weights");
    fresh.parameters().forEach((p, i) => expect(p.data).toEqual(saved.parameters()[i]!.data));
    expect(weightsArchitecture(bytes, "net weights")).toEqual({ sizes: [5, 4, 3] });
  });

  it("refuse a model of another shape, a missing parameter and a leftover one", () => {
    const bytes = encodeModelWeights("net", new Mlp("net", [5, 4, 3], new Rng(1)), null);
    expect(() => loadModelWeights(new Mlp("net", [5, 6, 3], new Rng(1)), bytes, "w")).toThrow(/net\.0\.weight was saved as \[5, 4\], the model has \[5, 6\]/);
    expect(() => loadModelWeights(new Mlp("net", [5, 4, 3, 2], new Rng(1)), bytes, "w")).toThrow(/no saved weights for parameter net\.2\.weight/);
    expect(() => loadModelWeights(new Mlp("net", [5, 4], new Rng(1)), bytes, "w")).toThrow(/saved parameters the model does not have: net\.1\.weight/);
  });
});
