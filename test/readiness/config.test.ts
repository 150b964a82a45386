/**
 * The readiness parts of the config: defaults, and object-storage mistakes answered with the key
 * and what to change (the loader's own messages, through parseConfig).
 */
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { createReadinessChecks, objectStorageRpoSeconds } from '../../src/readiness/index.js';

const BASE = `environment: prod
regions: { primary: { name: eu-west-1 }, secondary: { name: eu-central-1 } }
slack: { incidentChannel: C0INCIDENT }
approvals: { approvers: [U0APPROVER] }
`;

function problems(yaml: string): string {
  try {
    parseConfig(BASE + yaml, 'dr.config.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
}

test('defaults: every 15 minutes, drill warning after 90 days, canary RPO from the targets', () => {
  const config = parseConfig(
    `${BASE}targets: { rpoMinutes: 5, rpoMinutesByComponent: { objectStorage: 1 } }
components:
  objectStorage:
    provider: s3
    primary: { bucket: a-eu, region: eu-west-1 }
    secondary: { bucket: a-de, region: eu-central-1 }
`,
    'dr.config.yaml',
  );
  expect(config.readiness).toEqual({ intervalMinutes: 15, drillWarnDays: 90 });
  expect(config.components.objectStorage?.canaryPrefix).toBe('dr-bot-canary/');
  expect(objectStorageRpoSeconds(config)).toBe(60);
});

test('object storage: a missing bucket, mixed providers, and both Azure credentials are refused by key', () => {
  const msg = problems(`components:
  objectStorage:
    provider: s3
    primary: { container: assets }
    secondary: { bucket: b }
`);
  expect(msg).toContain('components.objectStorage.primary: provider s3 needs `bucket`');
  expect(msg).toContain(
    'container, accountUrl and connectionStringEnv are for provider azure-blob',
  );
  const azure = problems(`components:
  objectStorage:
    provider: azure-blob
    primary: { container: a, accountUrl: "https://acct.blob.core.windows.net", connectionStringEnv: BLOB_CS }
    secondary: { container: a }
`);
  expect(azure).toContain(
    'components.objectStorage.primary: provider azure-blob needs exactly one of `accountUrl` or `connectionStringEnv`',
  );
  expect(azure).toContain(
    'components.objectStorage.secondary: provider azure-blob needs exactly one of `accountUrl` or `connectionStringEnv`',
  );
});

test('an Azure connection string variable that is not set stops start-up with its name', () => {
  const config = parseConfig(
    `${BASE}components:
  objectStorage:
    provider: azure-blob
    primary: { container: a, connectionStringEnv: DR_BLOB_PRIMARY }
    secondary: { container: a, connectionStringEnv: DR_BLOB_SECONDARY }
`,
    'dr.config.yaml',
  );
  const drills = { redis: undefined as never, prefix: 'unused:' };
  expect(() =>
    createReadinessChecks({
      config,
      providers: {},
      env: { DR_BLOB_PRIMARY: 'UseDevelopmentStorage=true' },
      drills,
    }),
  ).toThrow('components.objectStorage.secondary.connectionStringEnv: DR_BLOB_SECONDARY is not set');
});
