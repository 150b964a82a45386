/**
 * `npm run docs:config`: rewrites the generated reference in docs/configuration.md from the zod
 * schema. `--check` only compares and exits 1 when the page is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from './docs/config-reference.js';
import { spliceGenerated } from './docs/generated.js';

const page = new URL('../docs/configuration.md', import.meta.url);
const before = readFileSync(page, 'utf8');
const after = spliceGenerated(before, 'config-reference', configReference());
if (process.argv.includes('--check')) {
  if (after !== before) console.error('docs/configuration.md is out of date: npm run docs:config');
  process.exitCode = after === before ? 0 : 1;
} else if (after !== before) {
  writeFileSync(page, after);
  console.log('docs/configuration.md: reference rewritten');
} else console.log('docs/configuration.md: up to date');
