/**
 * The detection section of the config and what `dr start` needs for it: defaults, refusals that
 * say what to fix, and the bearer token's environment variable.
 */
import { ConfigError } from '../../src/errors.js';
import {
  checkStartEnvironment,
  configSchema,
  parseConfig,
  summarizeConfig,
} from '../../src/config/index.js';
import { detectionSettings } from '../../src/detection/index.js';
import { configRefusal } from '../support/config-files.js';
import { createProviderStatusReader } from '../../src/providers/provider-status.js';

const BASE = `environment: staging
regions:
  primary: { name: eu-west-1, healthUrl: "https://eu-west-1.example.com/healthz" }
  secondary: { name: eu-central-1 }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE]
`;
const SLACK_ENV = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'signing' };

const refusal = configRefusal;

test('defaults: ServiceDown alerts labelled region, the primary health URL probed', () => {
  const config = parseConfig(`${BASE}detection: {}\n`, 'dr.config.yaml');
  expect(config.detection).toMatchObject({
    minAlerts: 3,
    windowSeconds: 600,
    alertName: 'ServiceDown',
    regionLabel: 'region',
    probeFailures: 3,
    tokenEnv: 'DR_ALERTMANAGER_TOKEN',
  });
  const { settings, probe } = detectionSettings(config);
  expect(settings).toMatchObject({ region: 'eu-west-1', windowMs: 600_000 });
  expect(probe).toEqual({
    urls: ['https://eu-west-1.example.com/healthz'],
    intervalMs: 30_000,
    timeoutMs: 5_000,
  });
});

test('provider status: AWS (region defaults to the primary) or Azure, never both; a probe timeout longer than the interval is refused', () => {
  const aws = parseConfig(
    `${BASE}detection:\n  providerStatus: { aws: { endpoint: "https://health.us-east-1.amazonaws.com" } }\n`,
    'dr.config.yaml',
  );
  expect(aws.detection?.providerStatus).toEqual({
    aws: { endpoint: 'https://health.us-east-1.amazonaws.com' },
    intervalSeconds: 60,
  });
  const reader = createProviderStatusReader(aws);
  expect(reader?.reader.source).toBe('AWS Health');
  expect(reader?.intervalMs).toBe(60_000);
  const azure = parseConfig(
    `${BASE}detection:\n  providerStatus: { intervalSeconds: 120, azure: { subscriptionId: "0000", resourceId: "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm" } }\n`,
    'dr.config.yaml',
  );
  expect(createProviderStatusReader(azure)).toMatchObject({
    reader: { source: 'Azure Resource Health' },
    intervalMs: 120_000,
  });
  expect(
    createProviderStatusReader(parseConfig(`${BASE}detection: {}\n`, 'dr.config.yaml')),
  ).toBeUndefined();
  // dr config check says what is read and that it is evidence only.
  expect(summarizeConfig(aws, {}).lines.join('\n')).toContain(
    'provider status: AWS Health events in eu-west-1 every 60 s (evidence only)',
  );
  expect(summarizeConfig(azure, {}).lines.join('\n')).toContain(
    'provider status: Azure Resource Health of /subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm every 120 s',
  );

  expect(
    refusal(
      `${BASE}detection:\n  providerStatus: { aws: {}, azure: { subscriptionId: "0000" } }\n`,
    ),
  ).toContain('set exactly one of providerStatus.aws or providerStatus.azure');
  expect(refusal(`${BASE}detection:\n  providerStatus: { intervalSeconds: 60 }\n`)).toContain(
    'set exactly one of providerStatus.aws or providerStatus.azure',
  );
  expect(
    refusal(`${BASE}detection:\n  providerStatus: { azure: { resourceId: "vm-1" } }\n`),
  ).toContain('subscriptionId');
  expect(
    refusal(
      `${BASE}detection:\n  providerStatus: { azure: { subscriptionId: "0000", resourceId: "vm-1" } }\n`,
    ),
  ).toContain('a full ARM resource id');
  expect(
    refusal(`${BASE}detection:\n  providerStatus: { aws: { endpoint: "not a url" } }\n`),
  ).toContain('detection.providerStatus.aws.endpoint');
  expect(
    refusal(`${BASE}detection:\n  probeIntervalSeconds: 5\n  probeTimeoutSeconds: 10\n`),
  ).toContain('probeTimeoutSeconds must not exceed probeIntervalSeconds');
  expect(refusal(`${BASE}detection:\n  minAlerts: 0\n`)).toContain('detection.minAlerts');
});

test('dr start needs the bearer token and something to probe', () => {
  const withoutUrl = configSchema.parse({
    environment: 'staging',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
    slack: { incidentChannel: 'C0123ABCD' },
    approvals: { approvers: ['U0123ALICE'] },
    detection: { tokenEnv: 'AM_TOKEN' },
  });
  let message = '';
  try {
    checkStartEnvironment(withoutUrl, SLACK_ENV);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toContain(
    'AM_TOKEN: not set; detection needs the bearer token Alertmanager sends to /webhooks/alertmanager',
  );
  expect(message).toContain(
    'detection: nothing to probe; set regions.primary.healthUrl or detection.probeUrls',
  );
  expect(() => detectionSettings(withoutUrl)).toThrow(ConfigError);

  const ok = parseConfig(`${BASE}detection: {}\n`, 'dr.config.yaml');
  expect(() =>
    checkStartEnvironment(ok, { ...SLACK_ENV, DR_ALERTMANAGER_TOKEN: 'secret-token' }),
  ).not.toThrow();
});
