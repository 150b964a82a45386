/**
 * The configuration reference in docs/configuration.md, generated from the exported zod schema
 * (zod's own z.toJSONSchema, input side, so defaults show and keys with a default are optional).
 * Types, required keys, defaults and limits come from the schema; the sentence per key comes from
 * the schema's own description (.describe/.meta) where it has one, else from config-descriptions.ts.
 */
import { z } from 'zod';
import { configSchema } from '../../src/config/index.js';
import { CONFIG_DESCRIPTIONS, CONFIG_EXAMPLES } from './config-descriptions.js';
import { headingAnchor } from './generated.js';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  description?: string;
}

/** One key of the file, as the reference shows it. */
interface ConfigKey {
  /** Dotted path; `[]` is an item of a list, `<side>` stands for `primary` and `secondary` alike. */
  path: string;
  schema: JsonSchema;
  required: boolean;
}

const SIDES = ['primary', 'secondary'];
/** Blocks whose children get a section each, rather than one section for the whole block. */
const SPLIT = new Set(['components']);

function inputSchema(): JsonSchema {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** `primary` and `secondary` with the same shape are one row: `<side>`. */
function sameSides(props: Record<string, JsonSchema>): boolean {
  const [a, b] = SIDES.map((s) => props[s]);
  return !!a && !!b && JSON.stringify(a) === JSON.stringify(b);
}

function childKeys(schema: JsonSchema, path: string): ConfigKey[] {
  const props = schema.properties ?? {};
  const merge = sameSides(props);
  const keys: ConfigKey[] = [];
  for (const [name, child] of Object.entries(props)) {
    if (merge && name === SIDES[1]) continue;
    const shown = merge && name === SIDES[0] ? '<side>' : name;
    const childPath = path ? `${path}.${shown}` : shown;
    keys.push({ path: childPath, schema: child, required: !!schema.required?.includes(name) });
    keys.push(...nestedKeys(child, childPath));
  }
  return keys;
}

function nestedKeys(schema: JsonSchema, path: string): ConfigKey[] {
  if (schema.type === 'object') return childKeys(schema, path);
  if (schema.type === 'array' && schema.items?.type === 'object')
    return childKeys(schema.items, `${path}[]`);
  return [];
}

/** Every key the schema accepts, in the schema's order. */
export function configKeys(): ConfigKey[] {
  return childKeys(inputSchema(), '');
}

const code = (text: string): string => `\`${text}\``;

function bounds(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  // .int() adds the largest safe integer as a maximum: not a limit anyone sets.
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) out.push(`≤ ${s.maximum}`);
  return out;
}

function typeText(s: JsonSchema): string {
  if (s.enum) return `one of ${s.enum.map((v) => code(String(v))).join(', ')}`;
  if (s.type === 'array') {
    const least = s.minItems ? `, at least ${s.minItems}` : '';
    return `list of ${s.items ? plural(typeText(s.items)) : 'values'}${least}`;
  }
  if (s.type === 'object') return 'block';
  if (s.type === 'string') {
    if (s.format === 'uri') return 'URL';
    if (s.pattern) return `string matching ${code(s.pattern)}`;
    return s.minLength ? 'non-empty string' : 'string';
  }
  return [s.type ?? 'any', bounds(s).join(', ')].filter(Boolean).join(' ');
}

function plural(type: string): string {
  if (type === 'block') return 'blocks';
  return type.replace(/^(string|URL|non-empty string|integer|number)/, '$1s');
}

function defaultText(s: JsonSchema): string {
  return s.default === undefined ? '—' : code(JSON.stringify(s.default));
}

/** The sentence for a key: the schema's description, else the table's; '' when neither has one. */
function describe(key: ConfigKey): string {
  return key.schema.description ?? CONFIG_DESCRIPTIONS[key.path] ?? '';
}

/** Keys neither the schema nor the table describes (the test requires none). */
export function undescribedKeys(): string[] {
  return configKeys()
    .filter((k) => describe(k) === '')
    .map((k) => k.path);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function row(key: ConfigKey): string {
  const cells = [
    code(key.path),
    typeText(key.schema),
    key.required ? 'yes' : 'no',
    defaultText(key.schema),
    describe(key),
  ];
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** The keys grouped: one section per top-level key, per component under `components`. */
function sections(keys: ConfigKey[]): Map<string, ConfigKey[]> {
  const out = new Map<string, ConfigKey[]>();
  for (const key of keys) {
    const parts = key.path.split('.');
    const head = SPLIT.has(parts[0]) && parts.length > 1 ? parts.slice(0, 2).join('.') : parts[0];
    out.set(head, [...(out.get(head) ?? []), key]);
  }
  return out;
}

/** The generated part of docs/configuration.md: a contents list, then a table per section. */
export function configReference(): string {
  const grouped = sections(configKeys());
  const headings = [...grouped.keys()].map((name) => `### ${code(name)}`);
  const lines = [...headings.map((h) => `- [${h.slice(4)}](#${headingAnchor(h.slice(4))})`), ''];
  [...grouped.entries()].forEach(([name, keys], i) => {
    lines.push(headings[i], '');
    lines.push('| Key | Type | Required | Default | Description |', '|---|---|---|---|---|');
    lines.push(...keys.map(row), '');
    if (CONFIG_EXAMPLES[name]) lines.push(CONFIG_EXAMPLES[name], '');
  });
  return lines.join('\n');
}
