// Validates one .glb/.gltf with the Khronos glTF validator and prints its JSON report's
// summary on stdout. Exit status: 0 when the file has no errors, 1 otherwise, 2 on usage errors.
// Usage: node validate.mjs FILE.glb
import { readFile } from "node:fs/promises";
import path from "node:path";
import validator from "gltf-validator";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs FILE.glb");
  process.exit(2);
}
const bytes = new Uint8Array(await readFile(file));
const report = await validator.validateBytes(bytes, {
  uri: path.basename(file),
  maxIssues: 100,
  externalResourceFunction: (uri) =>
    readFile(path.join(path.dirname(file), decodeURIComponent(uri))).then(
      (b) => new Uint8Array(b),
    ),
});
const summary = {
  numErrors: report.issues.numErrors,
  numWarnings: report.issues.numWarnings,
  numInfos: report.issues.numInfos,
  numHints: report.issues.numHints,
  messages: report.issues.messages,
  info: report.info,
};
console.log(JSON.stringify(summary, null, 1));
process.exit(report.issues.numErrors === 0 ? 0 : 1);
