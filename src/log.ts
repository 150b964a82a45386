/**
 * pino JSON logs with secrets kept out. Two layers, because either alone misses something:
 * redact paths blank fields whose *name* says secret (token, password, ...), and a scrubber masks
 * credentials inside any URL-looking string (a connection string in an error message, a msg).
 * Modules log through child loggers that carry `opId` and `step`.
 *
 * Every key appears once on a line. pino appends a child's bindings to its parent's as text, so a
 * child binding a key its parent already has (`component` under `component`, `env` under `env`),
 * or a line repeating a bound key, would write it twice; a JSON reader then keeps one of the two,
 * and which one depends on the reader. Here bindings are merged instead (the inner child's value
 * replaces the outer one, a line's own field replaces a binding), which is what `JSON.parse`
 * made of those lines anyway.
 */
import {
  pino,
  stdSerializers,
  type DestinationStream,
  type Logger,
  type LevelWithSilent,
} from 'pino';

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
const REDACT_PATHS: string[] = [
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
  if (value === null || typeof value !== 'object' || depth > 6 || value instanceof Error)
    return value;
  if (seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1, seen);
  return out;
}

interface LoggerOptions {
  /** Default: LOG_LEVEL, else info. */
  level?: LevelWithSilent | string;
  /** Default: stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  /** Fields on every line (e.g. { env: 'prod' }). */
  base?: Record<string, unknown>;
}

/** The merged bindings of a logger made by createLogger (its own and its parents'). */
const BINDINGS = Symbol('dr-bot.log.bindings');
type Bound = Logger & { [BINDINGS]?: Record<string, unknown> };

/** Keys pino reads from a child's bindings as options, never as fields (its asChindings skips them too). */
const NOT_FIELDS = new Set(['level', 'serializers', 'formatters', 'customLevels']);

function fields(bindings: pino.Bindings): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(bindings).filter(([k, v]) => !NOT_FIELDS.has(k) && v !== undefined),
  );
}

/**
 * Children of `root` keep their bindings in one object (BINDINGS) instead of pino's text: pino's
 * own child() is still what makes the child (levels, serializers, redaction options), with no
 * bindings of its own, and the mixin puts the merged object on each line. pino's child() makes
 * the child with Object.create(parent), so every descendant inherits these methods.
 */
function mergeBindings(root: Logger, base: Record<string, unknown>): void {
  const pinoChild = root.child as unknown as (
    this: Logger,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) => Logger;
  (root as Bound)[BINDINGS] = base;
  Object.defineProperties(root, {
    child: {
      value: function child(
        this: Bound,
        bindings: pino.Bindings,
        options?: pino.ChildLoggerOptions,
      ): Logger {
        const instance = pinoChild.call(this, {}, options) as Bound;
        instance[BINDINGS] = { ...this[BINDINGS], ...fields(bindings) };
        return instance;
      },
    },
    bindings: {
      value: function bindings(this: Bound): pino.Bindings {
        return { ...this[BINDINGS] };
      },
    },
    setBindings: {
      value: function setBindings(this: Bound, bindings: pino.Bindings): void {
        this[BINDINGS] = { ...this[BINDINGS], ...fields(bindings) };
      },
    },
  });
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const options: pino.LoggerOptions = {
    level,
    // `name` and the caller's base fields are bindings of the root (see mergeBindings): pino's
    // base would be written apart from them, and twice when a child binds the same key.
    base: null,
    // A fresh object per line: pino merges the line's fields into it (they win over bindings).
    mixin: (_obj, _level, logger) => ({ ...(logger as Bound)[BINDINGS] }),
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: (err: Error) =>
        scrubDeep(stdSerializers.err(err), 0, new WeakSet()) as ReturnType<
          typeof stdSerializers.err
        >,
    },
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => scrubDeep(obj, 0, new WeakSet()) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<
            typeof method
          >,
        );
      },
    },
  };
  const root = opts.destination ? pino(options, opts.destination) : pino(options);
  mergeBindings(root, { name: 'dr-bot', ...opts.base });
  return root;
}
