import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { CLIENT_TYPES_PATH, clientTypesSource } from "../../../scripts/openapi/client-types";
import { apiDocument } from "../../../worker/contract";

describe("the OpenAPI contract", () => {
  it("is a valid OpenAPI 3.1 document whose references all resolve", async () => {
    const result = await new Validator().validate(JSON.parse(JSON.stringify(apiDocument())) as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it("has its generated client types committed as the document is now (npm run openapi:client)", async () => {
    const committed = await readFile(CLIENT_TYPES_PATH, "utf8");
    expect(committed === (await clientTypesSource()), "client/openapi-types.ts is stale: run npm run openapi:client").toBe(true);
  });
});
