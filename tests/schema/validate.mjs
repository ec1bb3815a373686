// validate.mjs: checks manifests against the real Kubernetes schema
// (npm kubernetes-models 5.1.0, generated from the Kubernetes OpenAPI).
//
// usage: node validate.mjs FILE.json...
// Each FILE holds one Pod object or a JSON array of them. Node has no YAML
// parser, so YAML output is first converted by the project's own codec
// (`kc_render_tool tojson`, built from tests/render/), which the e2e test
// cross-checks against PyYAML when that is installed.
// Prints one line per document; exit 0 when all are valid, 1 otherwise.
import { readFileSync } from "node:fs";
import { Pod } from "kubernetes-models/v1/Pod";

let failed = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE.json...");
  process.exit(2);
}
for (const file of files) {
  let docs;
  try {
    docs = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.log(`${file}: unreadable: ${e.message}`);
    failed++;
    continue;
  }
  if (!Array.isArray(docs)) docs = [docs];
  docs.forEach((doc, i) => {
    const where = `${file}: document ${i + 1}`;
    try {
      if (doc?.apiVersion !== "v1" || doc?.kind !== "Pod")
        throw new Error("not a v1 Pod");
      new Pod(doc).validate();
      console.log(`${where}: OK`);
    } catch (e) {
      failed++;
      console.log(`${where}: INVALID: ${String(e.message ?? e).replace(/\s+/g, " ")}`);
    }
  });
}
process.exit(failed === 0 ? 0 : 1);
