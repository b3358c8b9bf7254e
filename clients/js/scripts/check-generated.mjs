// Fails when src/schema.ts is not what `npm run generate` makes of openapi.json,
// so a changed API document cannot ship with stale types. The generate script
// in package.json is the one place its command and flags are written.
import { execSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const target = "src/schema.ts";
const generate = JSON.parse(readFileSync("package.json", "utf8")).scripts.generate;
if (!generate.includes(`-o ${target}`)) throw new Error(`the generate script no longer writes ${target}`);

const dir = mkdtempSync(join(tmpdir(), "latchkey-schema-"));
const fresh = join(dir, "schema.ts");
try {
  execSync(generate.replace(`-o ${target}`, `-o ${JSON.stringify(fresh)}`), {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, PATH: `${join(process.cwd(), "node_modules", ".bin")}:${process.env.PATH}` },
  });
  if (readFileSync(fresh, "utf8") !== readFileSync(target, "utf8")) {
    console.error(`${target} is stale: it is not what openapi.json generates. Run \`npm run generate\` and commit the result.`);
    process.exitCode = 1;
  } else {
    console.log(`${target} matches openapi.json`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
