/**
 * Reads the YAML config once at start-up: parse, validate against the schema, fill defaults,
 * freeze. Every failure is a ConfigError that names the file and, per problem, the key and what
 * to change, because the person reading it is on call and did not write the schema.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { describeIssues, type Problem } from './issues.js';
import { deepFreeze } from './freeze.js';
import { configSchema, type DrConfig } from './schema.js';
import { DEFAULT_CONFIG_PATH } from './path.js';

interface LoadConfigOptions {
  /** The file to read; DR_CONFIG / ./dr.config.yaml are resolved by configPathFrom(). */
  path?: string;
  /**
   * Not read while loading: connection refs are resolved at start-up (checkStartEnvironment,
   * createProviders), so a file can be validated on a machine that does not hold the secrets.
   */
  env?: NodeJS.ProcessEnv;
}

function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(
        `no config at ${path}: pass --config FILE or set DR_CONFIG (dr.config.example.yaml shows every key)`,
      );
    }
    if (code === 'EISDIR')
      throw new ConfigError(
        `config ${path} is a directory: pass the YAML file itself with --config FILE`,
      );
    if (code === 'EACCES')
      throw new ConfigError(
        `cannot read config ${path}: permission denied for the user running dr`,
      );
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
}

function lineOf(doc: Document, counter: LineCounter, keys: Problem['keys']): number | undefined {
  // The line of the key itself; a missing key has no line, so point at the nearest key that holds it.
  for (let n = keys.length; n >= 1; n -= 1) {
    const parent = n === 1 ? doc.contents : doc.getIn(keys.slice(0, n - 1) as unknown[], true);
    const last = keys[n - 1];
    let node: unknown;
    if (isMap(parent))
      node = parent.items.find((pair) => isScalar(pair.key) && pair.key.value === last)?.key;
    else if (isSeq(parent) && typeof last === 'number') node = parent.items[last];
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** The text of a plain (unquoted) scalar as written, e.g. the digits of a number YAML rounds. */
function sourceOf(doc: Document, text: string, keys: readonly PropertyKey[]): string | undefined {
  const node = doc.getIn(keys as unknown[], true);
  if (!isScalar(node) || node.type !== 'PLAIN' || !node.range) return undefined;
  return text.slice(node.range[0], node.range[1]).trim();
}

/** Parse and validate YAML text; `path` is only used in messages. */
export function parseConfig(text: string, path: string): DrConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : 'somewhere';
      const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return `  ${path}: ${where}: ${what}`;
    });
    throw new ConfigError(`config ${path} is not valid YAML:\n${lines.join('\n')}`);
  }
  const input: unknown = doc.toJS({ maxAliasCount: 100 });
  if (input === null || input === undefined) {
    throw new ConfigError(`config ${path} is empty: copy dr.config.example.yaml and fill it in`);
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = describeIssues(result.error.issues, input, configSchema, (keys) =>
      sourceOf(doc, text, keys),
    );
    const lines = problems.map((p) => {
      const line = lineOf(doc, counter, p.keys);
      return `  ${path}: ${p.path}: ${p.reason}${line === undefined ? '' : ` (line ${line})`}`;
    });
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new ConfigError(`config ${path} is invalid (${count}):\n${lines.join('\n')}`);
  }
  return deepFreeze(result.data);
}

/** Read, validate, fill defaults and deep-freeze the config at `path` (default ./dr.config.yaml). */
export function loadConfig(opts: LoadConfigOptions = {}): DrConfig {
  const path = opts.path ?? DEFAULT_CONFIG_PATH;
  return parseConfig(readConfigText(path), path);
}
