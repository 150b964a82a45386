/**
 * Turns zod issues into `key.path: reason` lines a person can fix without reading the schema:
 * "approvals.required: expected a number ≥ 1", "components.postgre: unknown key (expected one of
 * postgres, redis, ...)". Zod's own messages name types, not the YAML the person wrote.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return cur;
}

/**
 * `source` is the value as written in the YAML, when known: a number too long for a double reads
 * as other digits than the person typed, so show theirs too.
 */
function describeValue(value: unknown, source?: string): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' && source !== undefined && source !== String(value))
    return `the number ${source} (read as ${String(value)})`;
  return `${typeof value === 'number' ? 'the number' : typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a text value',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value lines)',
  array: 'a list',
};

type SchemaDef = Record<string, unknown>;

/** The schema node that validates `path`, past optional/default/pipe wrappers. */
function nodeAt(schema: z.ZodType, path: readonly PathKey[]): SchemaDef | undefined {
  const unwrap = (s: unknown): SchemaDef | undefined => {
    let node = s as { _zod?: { def?: SchemaDef } } | undefined;
    for (let i = 0; i < 10 && node?._zod?.def; i += 1) {
      const def = node._zod.def;
      if (def.innerType) node = def.innerType as typeof node;
      else if (def.type === 'pipe' && def.in) node = def.in as typeof node;
      else break;
    }
    return node?._zod?.def;
  };
  let def = unwrap(schema);
  for (const key of path) {
    if (!def) return undefined;
    if (def.type === 'object') def = unwrap((def.shape as Record<string, unknown>)[key as string]);
    else if (def.type === 'array') def = unwrap(def.element);
    else return undefined;
  }
  return def;
}

/** The keys a strict object at `path` accepts, found by walking the schema's definition. */
function knownKeys(schema: z.ZodType, path: readonly PathKey[]): string[] {
  const def = nodeAt(schema, path);
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

/**
 * Whether the schema gave this issue its own message (`z.string({ error })`, `.regex(re, message)`):
 * that message is written for the person and is kept; zod's defaults name types and patterns.
 */
function hasOwnMessage(schema: z.ZodType, issue: Issue): boolean {
  const def = nodeAt(schema, issue.path);
  if (!def) return false;
  if (issue.code === 'invalid_type') return def.error !== undefined;
  if (issue.code === 'invalid_format') {
    const checks = (def.checks as { _zod?: { def?: SchemaDef } }[] | undefined) ?? [];
    return checks.some(
      (c) => c._zod?.def?.format === issue.format && c._zod.def.error !== undefined,
    );
  }
  return false;
}

function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i += 1) {
      let prev = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j += 1) {
        const tmp = row[j];
        row[j] = Math.min(
          row[j] + 1,
          row[j - 1] + 1,
          prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
        );
        prev = tmp;
      }
    }
    return row[b.length];
  };
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function bound(issue: { inclusive?: boolean }, sign: 'min' | 'max'): string {
  if (sign === 'min') return issue.inclusive === false ? '>' : '≥';
  return issue.inclusive === false ? '<' : '≤';
}

export interface Problem {
  path: string;
  /** The raw path, to find the YAML line. */
  keys: PathKey[];
  reason: string;
}

type IssueOf<C extends Issue['code']> = Extract<Issue, { code: C }>;

/** Where an issue is and what is there: every description reads these. */
interface IssueSite {
  keys: PathKey[];
  /** The value at `keys` in the input. */
  at: unknown;
  /** That value as written in the file, when known. */
  written: string | undefined;
  schema: z.ZodType;
}

/** An unknown-keys issue: one problem per key, with the closest key still unused as a guess. */
function unknownKeyProblems(issue: IssueOf<'unrecognized_keys'>, site: IssueSite): Problem[] {
  const { keys, schema } = site;
  const allowed = knownKeys(schema, keys);
  const present = site.at;
  const unused = allowed.filter(
    (k) => present === null || typeof present !== 'object' || !(k in present),
  );
  return issue.keys.map((key) => {
    const guess = closest(key, unused);
    const hint = guess
      ? `did you mean ${guess}?`
      : allowed.length
        ? `expected one of ${allowed.join(', ')}`
        : '';
    return {
      path: formatPath([...keys, key]),
      keys: [...keys, key],
      reason: `unknown key${hint ? ` (${hint})` : ''}`,
    };
  });
}

function invalidTypeReason(issue: IssueOf<'invalid_type'>, site: IssueSite): string {
  const { at, written, schema } = site;
  const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
  let reason =
    at === undefined
      ? `missing: expected ${expected}`
      : `expected ${expected}, got ${describeValue(at, written)}`;
  if (at !== undefined && hasOwnMessage(schema, issue)) {
    // The schema's hint, then what was written: for a number that should be text, as typed and quoted.
    const shown = written ?? String(at);
    reason =
      issue.expected === 'string' && (typeof at === 'number' || typeof at === 'boolean')
        ? `${issue.message}; you wrote ${shown}${shown === String(at) ? '' : `, which YAML reads as ${String(at)}`}: write ${JSON.stringify(shown)}`
        : `${issue.message}, got ${describeValue(at, written)}`;
  }
  return reason;
}

function tooSmallReason(issue: IssueOf<'too_small'>, site: IssueSite): string {
  const { at, written } = site;
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
    return `expected a number ${bound(issue, 'min')} ${String(issue.minimum)}, got ${written ?? String(at)}`;
  } else if (issue.origin === 'array' || issue.origin === 'set') {
    return `needs at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
  } else if (issue.origin === 'string') {
    return Number(issue.minimum) <= 1
      ? 'must not be empty'
      : `needs at least ${String(issue.minimum)} characters`;
  }
  return issue.message;
}

function tooBigReason(issue: IssueOf<'too_big'>, site: IssueSite): string {
  const { at, written } = site;
  return issue.origin === 'number' || issue.origin === 'int'
    ? `expected a number ${bound(issue, 'max')} ${String(issue.maximum)}, got ${written ?? String(at)}`
    : issue.origin === 'array'
      ? `allows at most ${String(issue.maximum)} items`
      : issue.message;
}

function invalidFormatReason(issue: IssueOf<'invalid_format'>, site: IssueSite): string {
  const { at, written, schema } = site;
  return issue.format === 'url'
    ? `expected a URL such as https://status.example.com/health, got ${describeValue(at)}`
    : hasOwnMessage(schema, issue)
      ? `${issue.message}, got ${describeValue(at, written)}`
      : // zod's default names the pattern (/^…$/), which tells a person nothing.
        `not in the expected form, got ${describeValue(at, written)}`;
}

/** The reason of any issue but an unknown-keys one (that one names each key). */
function issueReason(issue: Issue, site: IssueSite): string {
  switch (issue.code) {
    case 'invalid_type':
      return invalidTypeReason(issue, site);
    case 'too_small':
      return tooSmallReason(issue, site);
    case 'too_big':
      return tooBigReason(issue, site);
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      return `expected one of ${options}, got ${describeValue(site.at, site.written)}`;
    }
    case 'invalid_format':
      return invalidFormatReason(issue, site);
    case 'invalid_union':
      return `does not match any accepted form (${issue.message})`;
    default:
      return issue.message;
  }
}

/**
 * One problem per issue; an unknown-keys issue becomes one problem per key. `source` gives the text
 * of a plain scalar as written in the file (load.ts reads it from the YAML document).
 */
export function describeIssues(
  issues: readonly Issue[],
  input: unknown,
  schema: z.ZodType,
  source: (keys: readonly PathKey[]) => string | undefined = () => undefined,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const keys = [...issue.path];
    const site: IssueSite = { keys, at: valueAt(input, keys), written: source(keys), schema };
    if (issue.code === 'unrecognized_keys') problems.push(...unknownKeyProblems(issue, site));
    else problems.push({ path: formatPath(keys), keys, reason: issueReason(issue, site) });
  }
  return problems;
}
