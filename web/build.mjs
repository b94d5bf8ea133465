// Bundles the dashboard into dist/ (index.html, app.js, app.css) and prints its gzipped size,
// failing past the budget. Runs offline: esbuild and everything it bundles are in node_modules.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const BUDGET_KB = 150;

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome109", "firefox115", "safari15.4"],
  outdir: "dist",
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync("src/index.html", "dist/index.html");

let total = 0;
for (const file of ["index.html", "app.js", "app.css"]) {
  const raw = readFileSync(`dist/${file}`);
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`dist/${file.padEnd(10)} ${(raw.length / 1024).toFixed(1).padStart(6)} kB, ${(gz / 1024).toFixed(1).padStart(5)} kB gzipped`);
}
console.log(`total ${(total / 1024).toFixed(1)} kB gzipped (budget ${BUDGET_KB} kB)`);
if (total > BUDGET_KB * 1024) {
  console.error(`the bundle is over its budget of ${BUDGET_KB} kB gzipped`);
  process.exit(1);
}
