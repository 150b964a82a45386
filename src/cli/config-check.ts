import { loadConfig } from '../config/load.js';
import { checkStart, startProblemsTitle } from '../config/runtime.js';
import { summarizeConfig } from '../config/summary.js';
import type { ComponentReadiness } from '../domain/types.js';
import { ConfigError, errorInfo } from '../errors.js';
import type { CliIo } from './io.js';

/**
 * `dr config check`: 0 when `dr start` would accept the file and the environment, else 1. The
 * checks are start's own (checkStart); --skip-env leaves out those that read the environment.
 */
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
  const { problems, environment } = checkStart(config, io.env, { skipEnv: opts.skipEnv });
  const summary = summarizeConfig(config, io.env);
  // "valid" only when dr start would accept it all; a right file in a wrong environment says so.
  if (problems.length === 0) io.stdout(`${opts.path}: valid\n${summary.lines.join('\n')}\n`);
  else if (!problems.some((p) => !p.needsEnv))
    io.stdout(
      `${opts.path}: the file is right, the environment is not (below)\n${summary.lines.join('\n')}\n`,
    );
  for (const w of summary.warnings) io.stderr(`dr: warning: ${opts.path}: ${w}\n`);
  if (environment?.redisUrlDefaulted) {
    io.stderr(
      `dr: warning: REDIS_URL is not set: dr start would keep operation state in the Redis on localhost; set it to the bot's own Redis outside the primary region\n`,
    );
  }
  if (problems.length === 0) return 0;
  io.stderr(
    `dr: ${opts.path}: ${startProblemsTitle(problems)}:\n${problems.map((p) => `  ${p.text}`).join('\n')}\n`,
  );
  if (problems.some((p) => p.needsEnv))
    io.stderr('dr: (dr start would refuse to start; use --skip-env to check the file only)\n');
  return 1;
}

const STATUS_WORD: Record<ComponentReadiness['status'], string> = {
  ready: 'ok',
  warning: 'warning',
  blocked: 'blocked',
  'not-configured': 'not configured',
};

/**
 * `dr config check --live`: the checks above, then (when they pass) the providers built as
 * `dr start` builds them and preflight's failover checks run once. Read-only, as preflight is;
 * the providers keep what they learn in memory, not in the bot's Redis. 0 when nothing is blocked.
 */
export async function runConfigCheckLive(opts: { path: string; io: CliIo }): Promise<number> {
  const { io } = opts;
  if (runConfigCheck({ path: opts.path, skipEnv: false, io }) !== 0) return 1;
  const config = loadConfig({ path: opts.path, env: io.env });
  // Loaded only here, so a plain `dr config check` stays quick and loads no SDK.
  const [{ pino }, { closeProviders, createProviders }, { runPreflight }] = await Promise.all([
    import('pino'),
    import('../providers/factory.js'),
    import('../engine/preflight.js'),
  ]);
  const log = pino({ level: io.env.LOG_LEVEL ?? 'silent' }, pino.destination(2));
  let providers;
  try {
    providers = createProviders(config, io.env, log);
    const report = await runPreflight(
      providers,
      { kind: 'failover', requestedMode: 'auto' },
      Date.now,
    );
    const rows = report.components.flatMap((c) => [
      `  ${c.component}: ${STATUS_WORD[c.status]} — ${c.summary}`,
      ...(c.warnings ?? []).map((w) => `      warning: ${w}`),
    ]);
    io.stdout(`live checks (failover readiness, ${report.mode} mode):\n${rows.join('\n')}\n`);
    const blocked = report.components.filter((c) => c.status === 'blocked');
    if (blocked.length === 0) return 0;
    io.stderr(
      `dr: ${opts.path}: blocked: ${blocked.map((c) => c.component).join(', ')} (see above)\n`,
    );
    return 1;
  } catch (err) {
    io.stderr(`dr: ${opts.path}: live check failed: ${errorInfo(err).message}\n`);
    return 1;
  } finally {
    if (providers) await closeProviders(providers, log);
  }
}
