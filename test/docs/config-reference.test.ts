/**
 * docs/configuration.md's reference is generated from the zod schema: a schema change without
 * `npm run docs:config` fails here, and so does a key without a description or a description
 * left for a key the schema no longer has.
 */
import { CONFIG_DESCRIPTIONS } from '../../scripts/docs/config-descriptions.js';
import {
  configKeys,
  configReference,
  undescribedKeys,
} from '../../scripts/docs/config-reference.js';
import { spliceGenerated } from '../../scripts/docs/generated.js';
import { readPage } from './markdown.js';

it('docs/configuration.md holds the reference the schema generates (npm run docs:config)', () => {
  const page = readPage('docs/configuration.md');
  expect(spliceGenerated(page, 'config-reference', configReference())).toBe(page);
});

it('walks the whole schema, nested blocks and list items included', () => {
  const paths = configKeys().map((k) => k.path);
  expect(paths).toEqual(
    expect.arrayContaining([
      'environment',
      'approvals.required',
      'components.postgres.<side>.urlEnv',
      'components.postgres.fence.method',
      'components.kubernetes.workloads[].standbyReplicas',
      'components.verification.<side>.commands[].command',
      'detection.providerStatus.azure.resourceId',
    ]),
  );
  const required = configKeys()
    .filter((k) => k.required)
    .map((k) => k.path);
  expect(required).toEqual(expect.arrayContaining(['environment', 'slack.incidentChannel']));
  expect(required).not.toContain('approvals.required');
});

it('shows types, defaults and limits from the schema', () => {
  const reference = configReference();
  expect(reference).toContain('| `approvals.required` | integer ≥ 1, ≤ 10 | no | `1` |');
  expect(reference).toContain(
    '| `components.postgres.fence.method` | one of `read-only`, `role`, `command` | no | `"read-only"` |',
  );
  expect(reference).toContain('| `regions.<side>.healthUrl` | URL | no | — |');
});

it('describes every key the schema has', () => {
  expect(undescribedKeys()).toEqual([]);
});

it('describes no key the schema does not have', () => {
  const paths = new Set(configKeys().map((k) => k.path));
  expect(Object.keys(CONFIG_DESCRIPTIONS).filter((p) => !paths.has(p))).toEqual([]);
});
