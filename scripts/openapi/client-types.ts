import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from "openapi-typescript";
import { apiDocument } from "../../worker/contract";

/** Where the generated types live, committed so that clients and tests type-check without a generation step. */
export const CLIENT_TYPES_PATH = new URL("../../client/openapi-types.ts", import.meta.url);

/** The TypeScript types of the Worker's OpenAPI document, as `npm run openapi:client` writes them. */
export async function clientTypesSource(): Promise<string> {
  // the document is plain JSON; openapi-typescript's own OpenAPI3 type is looser than ours
  const document = JSON.parse(JSON.stringify(apiDocument())) as OpenAPI3;
  // a field with a default is optional to send (defaultNonNullable would make it required)
  const ast = await openapiTS(document, { alphabetize: false, exportType: false, rootTypes: false, defaultNonNullable: false });
  return `${COMMENT_HEADER}// Generated from the routes' zod schemas (worker/contract) by \`npm run openapi:client\`; a test fails when it is stale.\n\n${astToString(ast)}`;
}
