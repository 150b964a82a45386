#!/usr/bin/env node
// In a checkout (src/ present and tsx installed) run the TypeScript sources directly, so a
// fresh clone works after `npm ci` without a build; in the container image run the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

// DR_DIST names another compiled build to run instead (the tests build one: a process starts from
// it about three times faster than through tsx).
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'cli', 'main.ts');
const dist = process.env.DR_DIST || undefined; // empty: as unset
let entry = join(dist ?? join(root, 'dist'), 'cli', 'main.js');
if (!dist && existsSync(src)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = src;
  } catch {
    // tsx is a dev dependency: without it, fall back to the build.
  }
}
if (!existsSync(entry)) {
  console.error(
    dist
      ? `dr: ${entry} is missing: DR_DIST=${dist} names no build (unset it, or build there with tsc -p tsconfig.build.json --outDir ${dist}).`
      : `dr: ${entry} is missing. Run \`npm ci\` (checkout) or \`npm run build\` first.`,
  );
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
