/**
 * npm run openapi:client
 *
 * Regenerates client/openapi-types.ts from the OpenAPI document the Worker serves at /openapi.json.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { CLIENT_TYPES_PATH, clientTypesSource } from "./client-types";

await writeFile(CLIENT_TYPES_PATH, await clientTypesSource());
console.log(`wrote ${fileURLToPath(CLIENT_TYPES_PATH)}`);
