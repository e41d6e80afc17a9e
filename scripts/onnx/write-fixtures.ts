// Regenerates the committed ONNX fixtures: npx tsx scripts/onnx/write-fixtures.ts
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildFixtureFiles } from "../../test/fixtures/onnx/build-nets";

const directory = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));
for (const [name, bytes] of Object.entries(buildFixtureFiles())) {
  writeFileSync(directory + name, bytes);
  console.log(`${name}  ${(bytes.byteLength / 1024).toFixed(1)} KB`);
}
