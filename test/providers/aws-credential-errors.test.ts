/**
 * AWS credential failures through the real SDK against the Route 53 simulator: each is one line
 * that says what to set, whether the chain found nothing or AWS refused what it found.
 */
import pino from 'pino';
import { startRoute53Simulator, type Route53Sim } from '../../src/lab/simulators/index.js';
import { createRoute53Provider } from '../../src/providers/route53/index.js';

const VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
];
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
let sim: Route53Sim;

beforeAll(async () => {
  sim = await startRoute53Simulator({ ttl: 60 });
});

afterAll(async () => {
  await sim.stop();
  for (const v of VARS)
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
});

beforeEach(() => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDSIMULATOR',
    AWS_SECRET_ACCESS_KEY: 'simulator-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
  });
});

async function failure(): Promise<string> {
  const dns = createRoute53Provider({
    hostedZoneId: sim.zoneId,
    recordName: sim.recordName,
    recordType: 'A',
    primarySetIdentifier: sim.primarySetIdentifier,
    secondarySetIdentifier: sim.secondarySetIdentifier,
    method: 'invert-health-check',
    primaryHealthCheckId: sim.primaryHealthCheckId,
    endpoint: sim.url,
    region: 'us-east-1',
    log: pino({ level: 'silent' }),
  });
  try {
    const err = await dns.currentTarget().then(
      () => new Error('no error'),
      (e: unknown) => e as Error,
    );
    return err.message;
  } finally {
    await dns.close();
  }
}

test('no credentials anywhere in the chain: one line naming what to set', async () => {
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  const message = await failure();
  expect(message).toMatch(/no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  expect(message).not.toMatch(/\n/);
});

test('an expired session token, as AWS answers it, says to refresh the credentials', async () => {
  sim.failNext(403, 'ExpiredToken', 'The security token included in the request is expired');
  expect(await failure()).toMatch(/AWS session token has expired \(ExpiredToken\): refresh/);
});

test('a key AWS does not know names the variables to check', async () => {
  sim.failNext(
    403,
    'InvalidClientTokenId',
    'The security token included in the request is invalid.',
  );
  expect(await failure()).toMatch(
    /refused the access key \(InvalidClientTokenId\): check AWS_ACCESS_KEY_ID/,
  );
});
