import { loadConfig } from '../config/load.js';
import { summarizeConfig } from '../config/summary.js';
import { ConfigError } from '../errors.js';
import type { CliIo } from './io.js';

/** `dr config check`: 0 when the file is valid and every variable it names is set, else 1. */
export function runConfigCheck(opts: { path: string; skipEnv: boolean; io: CliIo }): number {
  const { io } = opts;
  let config;
  try {
    config = loadConfig({ path: opts.path, env: io.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`dr: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const summary = summarizeConfig(config, io.env);
  io.stdout(`${opts.path}: valid\n${summary.lines.join('\n')}\n`);
  for (const w of summary.warnings) io.stderr(`dr: warning: ${opts.path}: ${w}\n`);
  if (!opts.skipEnv && summary.missingEnv.length > 0) {
    io.stderr(
      `dr: ${opts.path} names environment variables that are not set: ${summary.missingEnv.join(', ')} ` +
        '(dr start would refuse to start; use --skip-env to check the file only)\n',
    );
    return 1;
  }
  return 0;
}
