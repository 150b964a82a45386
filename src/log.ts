/**
 * pino JSON logs with secrets kept out. Two layers, because either alone misses something:
 * redact paths blank fields whose *name* says secret (token, password, ...), and a scrubber masks
 * credentials inside any URL-looking string (a connection string in an error message, a msg).
 * Modules log through child loggers that carry `opId` and `step`.
 */
import { pino, stdSerializers, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'secret',
  'clientSecret',
  'password',
  'pass',
  'authorization',
  'cookie',
  'connectionString',
  // Environment dumps: the variables that hold secrets by name.
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'AZURE_CLIENT_SECRET',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

/** `*.key` only reaches one level down, so list the depths our log objects actually use. */
export const REDACT_PATHS: string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'config.*.url',
  'config.*.*.url',
  'config.*.*.*.url',
];

const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi;
const SLACK_TOKEN = /\bx(?:ox[abposr]|app)-[A-Za-z0-9-]+/g;

/** Mask the password in `scheme://user:password@host` and Slack tokens anywhere in a string. */
export function scrubSecrets(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, '$1$2:***@').replace(SLACK_TOKEN, 'xox*-***');
}

/** host:port/path of a URL without credentials, for "connecting to …" lines. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return scrubSecrets(url);
  }
}

function scrubDeep(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  // Errors pass through untouched: the `err` serializer turns them into plain data and scrubs that.
  if (value === null || typeof value !== 'object' || depth > 6 || value instanceof Error) return value;
  if (seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1, seen);
  return out;
}

export interface LoggerOptions {
  /** Default: LOG_LEVEL, else info. */
  level?: LevelWithSilent | string;
  /** Default: stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  /** Fields on every line (e.g. { env: 'prod' }). */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const options: pino.LoggerOptions = {
    level,
    base: { name: 'dr-bot', ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: (err: Error) => scrubDeep(stdSerializers.err(err), 0, new WeakSet()) as ReturnType<typeof stdSerializers.err>,
    },
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => scrubDeep(obj, 0, new WeakSet()) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>);
      },
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
