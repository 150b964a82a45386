/**
 * VerificationProvider: proves a region serves before an operation says done. HTTP checks (status,
 * optional body match, timeout, retries) and command checks (an integration-test command: exit
 * code and the tail of its output).
 *
 * Options (config: components.verification):
 * - primary, secondary: { http?: HttpCheckConfig[], commands?: CommandCheckConfig[] }
 *     http: { name, url, expectStatus = 200, bodyMatch? (a regular expression), timeoutSeconds = 5, retries = 3 }
 *     commands: { name, command (run with /bin/sh -c, env inherited plus DR_REGION), timeoutSeconds = 300 }
 * - retryDelayMs: pause before the first HTTP retry, growing linearly per attempt (default 1000)
 * - tailLines: lines of command output kept in the result (default 15)
 * - log: pino logger
 */
import type { Logger } from 'pino';
import type { CheckResult, ComponentReadiness, RegionRole } from '../domain/types.js';
import type { Progress, VerificationProvider } from './types.js';
import { sleep } from './dns-resolve.js';
import { commandEnv } from './command-env.js';
import { killCommandGroup, spawnCommandGroup } from './command-group.js';

interface HttpCheckConfig {
  name: string;
  url: string;
  /** The status to expect (default 200); `2xx` takes any success, as a health endpoint's. */
  expectStatus?: number | '2xx';
  bodyMatch?: string;
  timeoutSeconds?: number;
  retries?: number;
}

interface CommandCheckConfig {
  name: string;
  command: string;
  timeoutSeconds?: number;
}

export interface RegionChecks {
  http?: HttpCheckConfig[];
  commands?: CommandCheckConfig[];
}

interface VerificationProviderOptions {
  primary: RegionChecks;
  secondary: RegionChecks;
  retryDelayMs?: number;
  tailLines?: number;
  log: Logger;
}

const NAME = 'verification';
const MAX_OUTPUT = 64 * 1024;

const excerpt = (s: string, n = 200): string => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n)}…` : flat;
};

async function httpAttempt(check: HttpCheckConfig): Promise<{ ok: boolean; detail: string }> {
  const expect = check.expectStatus ?? 200;
  const timeoutS = check.timeoutSeconds ?? 5;
  const t0 = Date.now();
  try {
    const res = await fetch(check.url, {
      signal: AbortSignal.timeout(timeoutS * 1000),
      redirect: 'manual',
      headers: { 'user-agent': 'dr-bot-verification' },
    });
    const body = await res.text();
    const ms = Date.now() - t0;
    const statusOk =
      expect === '2xx' ? res.status >= 200 && res.status < 300 : res.status === expect;
    if (!statusOk)
      return {
        ok: false,
        detail: `${res.status} (expected ${expect}) in ${ms} ms: ${excerpt(body, 120)}`,
      };
    if (check.bodyMatch !== undefined && !new RegExp(check.bodyMatch).test(body))
      return {
        ok: false,
        detail: `${res.status} in ${ms} ms but the body does not match /${check.bodyMatch}/: ${excerpt(body, 120)}`,
      };
    return {
      ok: true,
      detail: `${res.status} in ${ms} ms${check.bodyMatch !== undefined ? `, body matches /${check.bodyMatch}/` : ''}`,
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return { ok: false, detail: `no answer within ${timeoutS} s` };
    return {
      ok: false,
      detail: `request failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`,
    };
  }
}

export async function runHttpCheck(
  check: HttpCheckConfig,
  retryDelayMs: number,
): Promise<CheckResult> {
  const attempts = 1 + (check.retries ?? 3);
  const t0 = Date.now();
  let last = { ok: false, detail: 'not run' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    last = await httpAttempt(check);
    if (last.ok) break;
    if (attempt < attempts) await sleep(retryDelayMs * attempt);
  }
  const tries = last.ok ? '' : ` (${attempts} attempt${attempts > 1 ? 's' : ''})`;
  return {
    name: check.name,
    kind: 'http',
    ok: last.ok,
    detail: `${check.url} → ${last.detail}${tries}`,
    durationMs: Date.now() - t0,
  };
}

async function runCommandCheck(
  check: CommandCheckConfig,
  region: RegionRole,
  tailLines: number,
): Promise<CheckResult> {
  const timeoutS = check.timeoutSeconds ?? 300;
  const t0 = Date.now();
  return new Promise<CheckResult>((resolve) => {
    // Own process group, so a timeout (or the bot leaving) kills the whole test run, not just the shell.
    const child = spawnCommandGroup(check.command, commandEnv({ DR_REGION: region }));
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const kill = (signal: NodeJS.Signals): void => {
      if (child.pid) killCommandGroup(child.pid, signal);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 2000).unref();
    }, timeoutS * 1000);
    const finish = (
      code: number | null,
      signal: NodeJS.Signals | null,
      spawnError?: Error,
    ): void => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      const tail = output.trimEnd().split('\n').slice(-tailLines).join('\n');
      const status = spawnError
        ? `could not start: ${spawnError.message}`
        : timedOut
          ? `timed out after ${timeoutS} s (killed)`
          : code !== null
            ? `exit ${code}`
            : `killed by ${signal}`;
      resolve({
        name: check.name,
        kind: 'command',
        ok: !spawnError && !timedOut && code === 0,
        detail: `${status} in ${(ms / 1000).toFixed(1)} s${tail ? `\n${tail}` : ''}`,
        durationMs: ms,
      });
    };
    child.on('error', (err) => finish(null, null, err));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

export function createVerificationProvider(
  opts: VerificationProviderOptions,
): VerificationProvider {
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const tailLines = opts.tailLines ?? 15;
  // The factory hands in a logger already bound to the provider name.
  const log = opts.log;
  const checksOf = (region: RegionRole): Required<RegionChecks> => ({
    http: opts[region].http ?? [],
    commands: opts[region].commands ?? [],
  });

  return {
    name: NAME,

    async run({
      region,
      progress,
    }: {
      region: RegionRole;
      progress: Progress;
    }): Promise<CheckResult[]> {
      const { http, commands } = checksOf(region);
      const report = (r: CheckResult): CheckResult => {
        progress(`${r.ok ? '✓' : '✗'} ${r.name}: ${r.detail.split('\n')[0]}`);
        log.info(
          { region, check: r.name, ok: r.ok, durationMs: r.durationMs },
          'verification check finished',
        );
        return r;
      };
      const httpResults = await Promise.all(
        http.map((c) => runHttpCheck(c, retryDelayMs).then(report)),
      );
      const commandResults: CheckResult[] = [];
      // Integration tests one at a time: they may share fixtures and compete for the same service.
      for (const c of commands) {
        progress(`running ${c.name}`);
        commandResults.push(report(await runCommandCheck(c, region, tailLines)));
      }
      return [...httpResults, ...commandResults];
    },

    async readiness(region): Promise<ComponentReadiness> {
      const { http, commands } = checksOf(region);
      const total = http.length + commands.length;
      const summary = `${http.length} HTTP check${http.length === 1 ? '' : 's'} and ${commands.length} command check${commands.length === 1 ? '' : 's'} for the ${region}`;
      return {
        component: 'verification',
        status: total === 0 ? 'warning' : 'ready',
        summary,
        details: { http: http.map((c) => c.name), commands: commands.map((c) => c.name) },
        planFacts: { provider: NAME, region, http: http.length, commands: commands.length },
        ...(total === 0
          ? {
              warnings: [
                `no verification checks are configured for the ${region}: the operation cannot prove it serves before it says done`,
              ],
            }
          : {}),
      };
    },

    async close() {},
  };
}
