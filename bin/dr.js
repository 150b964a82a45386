#!/usr/bin/env node
// In a checkout (src/ present and tsx installed) run the TypeScript sources directly, so a
// fresh clone works after `npm ci` without a build; in the container image run the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'cli', 'main.ts');
let entry = join(root, 'dist', 'cli', 'main.js');
if (existsSync(src)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = src;
  } catch {
    // tsx is a dev dependency: without it, fall back to the build.
  }
}
if (!existsSync(entry)) {
  console.error(`dr: ${entry} is missing. Run \`npm ci\` (checkout) or \`npm run build\` first.`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
