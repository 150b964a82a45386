/**
 * Provider status as detection evidence, end to end: the real AWS Health and Azure Resource Health
 * SDKs against the lab's simulators, the real Bolt app and Redis, and the proposal card and
 * `/dr status` as the fake Slack Web API received them. The status never opens an episode by itself,
 * and a failing status API is shown as unavailable while alerts + probes still propose.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { configSchema, type DrConfig } from '../../src/config/schema.js';
import {
  startAwsHealthSimulator,
  startAzureResourceHealthSimulator,
  type AwsHealthSim,
  type AzureResourceHealthSim,
} from '../../src/lab/simulators/index.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';
import {
  PRIMARY,
  SECONDARY,
  alert,
  payload,
  postAlerts,
  startHealthEndpoint,
  type HealthEndpoint,
} from './fixtures.js';

const SECRET = 'test-signing-secret-provider-status';
const TOKEN = 'am-token-provider-status-0123';
const ALICE = 'U0ALICE';
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const RESOURCE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/shop/providers/Microsoft.Compute/virtualMachines/api-1';
const OTHER_RESOURCE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/shop/providers/Microsoft.Compute/virtualMachines/batch-9';

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'test-access-key',
  AWS_SECRET_ACCESS_KEY: 'test-secret-key',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const savedEnv: Record<string, string | undefined> = {};

let redis: Redis;
let slack: FakeSlack;
let health: HealthEndpoint;
let aws: AwsHealthSim;
let azure: AzureResourceHealthSim;
beforeAll(async () => {
  for (const [k, v] of Object.entries(AWS_ENV)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  health = await startHealthEndpoint();
  aws = await startAwsHealthSimulator();
  azure = await startAzureResourceHealthSimulator();
});
afterAll(async () => {
  await Promise.all([health.stop(), aws.stop(), azure.stop()]);
  await slack.close();
  redis.disconnect();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

type ProviderStatusInput = NonNullable<NonNullable<DrConfig['detection']>['providerStatus']>;

function makeConfig(providerStatus: Partial<ProviderStatusInput>): DrConfig {
  return configSchema.parse({
    environment: 'provstatus',
    regions: { primary: { name: PRIMARY, healthUrl: health.url }, secondary: { name: SECONDARY } },
    slack: { incidentChannel: 'C0INCIDENT' },
    approvals: { approvers: ['U0BOB'], required: 1 },
    detection: {
      minAlerts: 2,
      probeFailures: 1,
      // The tests read and probe on demand; the timers must not add rounds of their own.
      probeIntervalSeconds: 3600,
      probeTimeoutSeconds: 2,
      providerStatus: { intervalSeconds: 3600, ...providerStatus },
    },
  });
}

const harnesses: BotHarness[] = [];
async function start(providerStatus: Partial<ProviderStatusInput>): Promise<BotHarness> {
  const h = await startBotHarness({
    slack,
    redis,
    config: makeConfig(providerStatus),
    signingSecret: SECRET,
    prefix: uniquePrefix('provider-status'),
    log,
    env: { DR_ALERTMANAGER_TOKEN: TOKEN },
    detection: true,
    providerStatus: {
      azureCredential: {
        getToken: async () => ({ token: azure.token, expiresOnTimestamp: Date.now() + 3_600_000 }),
      },
      ca: azure.ca,
    },
  });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
  aws.setEvents([]);
  aws.clearFaults();
  azure.setStatuses([]);
  azure.clearFaults();
  await health.start().catch(() => undefined);
});

function cardNow(mark: number): ApiCall | undefined {
  const posted = slack
    .api()
    .slice(0)
    .filter(
      (c) =>
        slack.calls.indexOf(c) >= mark &&
        c.method === 'chat.postMessage' &&
        String(c.args.text).includes('Regional failure suspected'),
    );
  const first = posted[0];
  if (!first) return undefined;
  const versions = slack
    .api()
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' && c.result.ts === first.result.ts) ||
        (c.method === 'chat.update' && c.args.ts === first.result.ts),
    );
  return versions[versions.length - 1];
}

/** Alerts and probes over their thresholds: the proposal is posted; returns the card as it stands once settled. */
async function propose(h: BotHarness): Promise<string> {
  await health.stop();
  expect((await h.detector!.probeNow()).ok).toBe(false);
  const res = await postAlerts(
    h.url,
    payload([
      alert({ fingerprint: 'a1', service: 'checkout' }),
      alert({ fingerprint: 'b2', service: 'payments' }),
    ]),
    { token: TOKEN },
  );
  expect(res.status).toBe(200);
  await slack.waitFor(() => cardNow(h.mark), 'the proposal card');
  await h.detector!.settled();
  return JSON.stringify(cardNow(h.mark)!.args.blocks);
}

async function statusAnswer(h: BotHarness): Promise<string> {
  const res = await h.command('status', ALICE);
  return h.answer(res.path);
}

test('AWS Health: an open event for the primary region is on the card; closed and other-region events are not', async () => {
  const since = new Date('2026-11-25T21:00:00Z');
  aws.setEvents([
    {
      arn: 'arn:aws:health:eu-west-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/open-1',
      service: 'EC2',
      eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
      region: PRIMARY,
      statusCode: 'open',
      startTime: since,
    },
    {
      arn: 'arn:aws:health:eu-west-1::event/RDS/AWS_RDS_MAINTENANCE/closed-1',
      service: 'RDS',
      eventTypeCode: 'AWS_RDS_MAINTENANCE',
      region: PRIMARY,
      statusCode: 'closed',
      startTime: since,
    },
    {
      arn: 'arn:aws:health:eu-central-1::event/S3/AWS_S3_OPERATIONAL_ISSUE/other-1',
      service: 'S3',
      eventTypeCode: 'AWS_S3_OPERATIONAL_ISSUE',
      region: SECONDARY,
      statusCode: 'open',
      startTime: since,
    },
  ]);
  const h = await start({ aws: { endpoint: aws.url } });
  const reading = await h.detector!.providerStatusNow();
  expect(reading).toMatchObject({ ok: true, source: 'AWS Health' });

  // Evidence only: an open event alone posts nothing, but /dr status shows it.
  expect(cardNow(h.mark)).toBeUndefined();
  const status = await statusAnswer(h);
  expect(status).toContain('AWS Health reports 1 open issue');
  expect(status).toContain('EC2 AWS_EC2_OPERATIONAL_ISSUE');

  const card = await propose(h);
  expect(card).toContain('Provider status');
  expect(card).toContain('AWS Health reports 1 open issue');
  expect(card).toContain('EC2 AWS_EC2_OPERATIONAL_ISSUE — open');
  expect(card).not.toContain('AWS_RDS_MAINTENANCE');
  expect(card).not.toContain('AWS_S3_OPERATIONAL_ISSUE');
  // The SDK asked AWS Health for the primary region's open events.
  const sent = aws.requests.map((r) => ({
    target: r.headers['x-amz-target'],
    body: JSON.parse(r.body) as { filter?: unknown },
  }));
  expect(sent[sent.length - 1]).toMatchObject({
    target: 'AWSHealth_20160804.DescribeEvents',
    body: { filter: { regions: [PRIMARY], eventStatusCodes: ['open'] } },
  });
});

test('AWS Health failing (500, then 403) is shown as unavailable and detection still proposes on alerts and probes', async () => {
  aws.failNext(500, 'InternalFailure', 'We encountered an internal error. Please try again.', 1000);
  const h = await start({ aws: { endpoint: aws.url } });
  expect(await h.detector!.providerStatusNow()).toMatchObject({ ok: false });
  const card = await propose(h);
  expect(card).toContain('Regional failure suspected');
  expect(card).toContain('provider status unavailable');
  expect(card).toContain('HTTP 500');

  aws.clearFaults();
  aws.failNext(
    403,
    'SubscriptionRequiredException',
    'The AWS Support plan must be Business or Enterprise.',
    1000,
  );
  await h.detector!.providerStatusNow();
  const status = await statusAnswer(h);
  expect(status).toContain('AWS Health: provider status unavailable');
  expect(status).toContain('SubscriptionRequiredException');
});

test('Azure Resource Health: a Degraded status of the configured resource is on the card; a failing API says unavailable', async () => {
  azure.setStatuses([
    {
      resourceId: RESOURCE,
      location: PRIMARY,
      availabilityState: 'Degraded',
      summary: 'We are sorry, your virtual machine is degraded by a platform issue.',
    },
    { resourceId: OTHER_RESOURCE, location: PRIMARY, availabilityState: 'Unavailable' },
  ]);
  const h = await start({
    azure: { subscriptionId: azure.subscriptionId, resourceId: RESOURCE, endpoint: azure.url },
  });
  const reading = await h.detector!.providerStatusNow();
  expect(reading).toMatchObject({ ok: true, source: 'Azure Resource Health' });
  const card = await propose(h);
  expect(card).toContain('Azure Resource Health reports 1 open issue');
  expect(card).toContain('api-1: Degraded');
  expect(card).toContain('degraded by a platform issue');
  expect(card).not.toContain('batch-9');
  const bearer = azure.requests.map((r) => r.headers.authorization);
  expect(bearer[bearer.length - 1]).toBe(`Bearer ${azure.token}`);

  azure.failNext(
    403,
    'AuthorizationFailed',
    'The client does not have authorization to perform action Microsoft.ResourceHealth/availabilityStatuses/read.',
    1000,
  );
  await h.detector!.providerStatusNow();
  await h.detector!.settled();
  const after = JSON.stringify(cardNow(h.mark)!.args.blocks);
  expect(after).toContain('Azure Resource Health: provider status unavailable');
  expect(after).toContain('AuthorizationFailed');
  // The episode is untouched by the status API failing.
  expect(after).toContain('Regional failure suspected');
});

test("Azure Resource Health without a resource id: the subscription's resources in the primary region that are not Available", async () => {
  azure.setStatuses([
    {
      resourceId: RESOURCE,
      location: PRIMARY,
      availabilityState: 'Unavailable',
      summary: 'The host is down.',
    },
    { resourceId: OTHER_RESOURCE, location: PRIMARY, availabilityState: 'Available' },
    {
      resourceId: `${OTHER_RESOURCE}-standby`,
      location: SECONDARY,
      availabilityState: 'Unavailable',
    },
  ]);
  const h = await start({ azure: { subscriptionId: azure.subscriptionId, endpoint: azure.url } });
  const reading = await h.detector!.providerStatusNow();
  expect(reading).toMatchObject({ ok: true, events: [{ status: 'Unavailable' }] });
  const status = await statusAnswer(h);
  expect(status).toContain('api-1: Unavailable — The host is down.');
  expect(status).not.toContain('batch-9');
});
