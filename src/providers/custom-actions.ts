/**
 * What the team's own runbook steps (config `runbook.steps`) do to the world: run a program
 * (argv, no shell, its own process group so a timeout or the bot's exit ends the whole tree) or
 * make an HTTP call. Output is kept bounded: it is evidence in the timeline and in Slack.
 */
import { ProviderError } from '../errors.js';
import { killCommandGroup, spawnCommandGroup } from './command-group.js';

/** The tail of a command's output and the start of a response body kept as evidence. */
const MAX_OUTPUT = 2000;

/** Passed to every command besides the names a step lists; nothing else of the bot's environment. */
const BASE_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'];

export interface ArgvResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  output: string;
}

interface HttpRequestSpec {
  method: string;
  url: string;
  /** Header name → environment variable holding its value. */
  headers: Record<string, string>;
  body?: string | Record<string, unknown>;
  timeoutSeconds: number;
}

export interface HttpResult {
  status: number;
  body: string;
  durationMs: number;
}

export interface CustomActionProvider {
  runArgv(
    argv: readonly string[],
    envNames: readonly string[],
    timeoutSeconds: number,
  ): Promise<ArgvResult>;
  request(spec: HttpRequestSpec): Promise<HttpResult>;
  readonly name: 'custom-actions';
  /** Holds no connection: each command's process group ends with its step (closeProviders). */
  close(): Promise<void>;
}

function childEnv(names: readonly string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const name of [...BASE_ENV, ...names]) if (env[name] !== undefined) out[name] = env[name];
  return out;
}

function runArgv(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutSeconds: number,
): Promise<ArgvResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawnCommandGroup(argv, env);
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killCommandGroup(child.pid, 'SIGKILL');
    }, timeoutSeconds * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new ProviderError('command', `${argv[0]} could not be started: ${err.message}`, {
          cause: err,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal,
        timedOut,
        durationMs: Date.now() - started,
        output: output.trim(),
      });
    });
  });
}

async function request(spec: HttpRequestSpec, env: NodeJS.ProcessEnv): Promise<HttpResult> {
  const started = Date.now();
  const headers: Record<string, string> = {};
  for (const [name, variable] of Object.entries(spec.headers)) headers[name] = env[variable] ?? '';
  let body: string | undefined;
  if (typeof spec.body === 'string') body = spec.body;
  else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers['content-type'] ??= 'application/json';
  }
  try {
    const res = await fetch(spec.url, {
      method: spec.method,
      headers,
      body,
      signal: AbortSignal.timeout(spec.timeoutSeconds * 1000),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text.slice(0, MAX_OUTPUT),
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const timeout = (err as Error).name === 'TimeoutError';
    throw new ProviderError(
      'http',
      timeout
        ? `${spec.method} ${spec.url}: no answer within ${spec.timeoutSeconds} s`
        : `${spec.method} ${spec.url}: ${(err as Error).message}`,
      { cause: err, retryable: true, ...(timeout ? { code: 'timeout' as const } : {}) },
    );
  }
}

export function createCustomActionProvider(
  env: NodeJS.ProcessEnv = process.env,
): CustomActionProvider {
  return {
    runArgv: (argv, names, timeoutSeconds) => runArgv(argv, childEnv(names, env), timeoutSeconds),
    request: (spec) => request(spec, env),
    name: 'custom-actions',
    close: async () => undefined,
  };
}
