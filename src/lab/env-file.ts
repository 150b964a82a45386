/**
 * DIR/lab.env: the environment `dr start` needs for a lab beyond its config file, as POSIX shell
 * `export` lines so `. DIR/lab.env` works in any shell. Values are single-quoted, so nothing in
 * them is expanded by the shell that sources the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { PreconditionFailed } from '../errors.js';

export const LAB_ENV_FILE = 'lab.env';

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function writeLabEnv(path: string, vars: Record<string, string>, header: string[]): void {
  const lines = [
    ...header.map((h) => `# ${h}`),
    ...Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}`),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Read back what writeLabEnv wrote (tests, tools that start the bot in-process). */
export function readLabEnv(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new PreconditionFailed(
      `${path} not found: it is written by \`dr lab up\`; start a lab first`,
      { code: 'not-found' },
    );
  }
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)='((?:[^']|'\\'')*)'$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  return vars;
}
