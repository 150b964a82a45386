/**
 * dr.config.example.yaml documents every key: each key the schema accepts appears in it, set or
 * commented out. A key added to the schema without a word in the example fails here.
 */
import { readFileSync } from 'node:fs';
import { configSchema } from '../../src/config/index.js';

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
}

/** Every key path the schema accepts, e.g. components.postgres.fence.method. */
function keyPaths(def: Def, prefix: string[] = []): string[][] {
  if (def.innerType) return keyPaths(def.innerType._zod.def, prefix);
  if (def.type === 'pipe' && def.in) return keyPaths(def.in._zod.def, prefix);
  if (def.type === 'array' && def.element) return keyPaths(def.element._zod.def, prefix);
  if (def.type === 'union' && def.options)
    return def.options.flatMap((o) => keyPaths(o._zod.def, prefix));
  if (def.type !== 'object' || !def.shape) return [];
  return Object.entries(def.shape).flatMap(([key, child]) => [
    [...prefix, key],
    ...keyPaths(child._zod.def, [...prefix, key]),
  ]);
}

const example = readFileSync(new URL('../../dr.config.example.yaml', import.meta.url), 'utf8');
const paths = keyPaths((configSchema as unknown as { _zod: { def: Def } })._zod.def);

it('finds the keys of the schema (the walk itself works)', () => {
  const names = paths.map((p) => p.join('.'));
  expect(names).toEqual(
    expect.arrayContaining([
      'environment',
      'approvals.required',
      'components.postgres.fence.method',
      'components.kubernetes.workloads.kind',
    ]),
  );
});

it('documents every key of the schema in dr.config.example.yaml', () => {
  const missing = paths.filter((p) => {
    const key = p[p.length - 1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return !new RegExp(`^\\s*(#\\s*)*(-\\s+)?${key}:`, 'm').test(example);
  });
  expect(missing.map((p) => p.join('.'))).toEqual([]);
});
