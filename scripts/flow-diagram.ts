/**
 * Rewrites the README's Mermaid picture of an operation from the operation machine
 * (`node --import tsx scripts/flow-diagram.ts`; `--check` only compares, exit 1 when stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { flowMarkdown } from './docs/flow.js';
import { spliceGenerated } from './docs/generated.js';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = spliceGenerated(before, 'flow', flowMarkdown());
if (process.argv.includes('--check')) {
  if (after !== before) console.error('README.md: the flow diagram is out of date');
  process.exitCode = after === before ? 0 : 1;
} else if (after !== before) {
  writeFileSync(readme, after);
  console.log('README.md: flow diagram rewritten');
} else console.log('README.md: flow diagram up to date');
