// Regenerates the committed model fixtures (test/fixtures/models/): npm run models:fixtures
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { buildModelFixtureFiles } from "./fixtures";

const directory = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
for (const [name, bytes] of Object.entries(await buildModelFixtureFiles())) {
  await writeFile(directory + name, bytes);
  console.log(`${name}  ${(bytes.byteLength / 1024).toFixed(1)} KB`);
}
