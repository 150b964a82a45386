/**
 * `dr readiness` as a person runs it: the real CLI process, a config whose object storage points
 * at the S3 simulator, the drill record in the test Redis. It prints every check and exits 0 only
 * when all are ok; it posts nothing and leaves no alert state behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { startS3Simulator, type S3Sim } from '../../src/lab/simulators/index.js';
import { drillLastKey, recordDrillAt } from '../../src/readiness/index.js';
import { runDr, type DrRun } from '../support/dr-cli.js';
import { REDIS_URL } from '../support/redis.js';

// dr readiness uses the bot's key prefix (dr:): a unique environment keeps this file's keys apart.
const ENV = `cli-${randomBytes(4).toString('hex')}`;
let dir: string;
let s3: S3Sim;
let redis: Redis;

/** A port nothing listens on: one the system just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function dr(args: string[]): Promise<DrRun> {
  return runDr(args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL,
      // The tests' state Redis keeps no AOF: the lab opt-in accepts it (and the row says so).
      DR_ALLOW_VOLATILE_STATE: 'yes',
      AWS_ACCESS_KEY_ID: 'sim',
      AWS_SECRET_ACCESS_KEY: 'sim',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dr-readiness-cli-'));
  s3 = await startS3Simulator({
    buckets: ['a-eu', 'a-de'],
    replication: [{ from: 'a-eu', to: 'a-de', delayMs: 100 }],
  });
  redis = new Redis(REDIS_URL);
  writeFileSync(
    join(dir, 'dr.config.yaml'),
    `environment: ${ENV}
regions: { primary: { name: eu-west-1 }, secondary: { name: eu-central-1 } }
slack: { incidentChannel: C0INCIDENT }
approvals: { approvers: [U0APPROVER] }
components:
  objectStorage:
    provider: s3
    primary: { bucket: a-eu, region: eu-west-1, endpoint: "${s3.url}" }
    secondary: { bucket: a-de, region: eu-central-1, endpoint: "${s3.url}" }
    forcePathStyle: true
    rpoSeconds: 2
`,
  );
});

afterAll(async () => {
  await redis.del(drillLastKey('dr:', ENV));
  redis.disconnect();
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('prints every check; exit 0 when all are ok, 1 when one is not', async () => {
  await recordDrillAt({ redis, prefix: 'dr:' }, ENV, Date.now() - 12 * 86_400_000);
  const ok = await dr(['readiness', '--config', 'dr.config.yaml']);
  expect(ok.stderr).not.toContain('dr readiness:');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain(`readiness of ${ENV}`);
  expect(ok.stdout).toMatch(
    /✅ Object storage replication: ok — [\d.]+ s vs ≤ 2 s — canary dr-bot-canary\/cli-/,
  );
  expect(ok.stdout).toContain('✅ Last drill: ok — 12 days vs ≤ 90 days');
  expect(ok.stdout).toMatch(
    /✅ Bot state store: ok — (no AOF|AOF on).*replica.* vs AOF on, a replica online — /,
  );

  s3.stallReplication(true);
  const stalled = await dr(['readiness', '--config', 'dr.config.yaml']);
  s3.stallReplication(false);
  expect(stalled.code).toBe(1);
  expect(stalled.stdout).toContain(
    '⚠️ Object storage replication: degraded — not replicated after 2 s vs ≤ 2 s',
  );
  // Nothing of the bot's alert state was written.
  expect(await redis.keys(`dr:readiness:*:${ENV}`)).toEqual([]);
}, 60_000);

test('a state Redis that does not answer is named, without its password, and the other checks still run', async () => {
  const closed = await closedPort();
  const run = await runDr(['readiness', '--config', 'dr.config.yaml'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: `redis://:pw-state@127.0.0.1:${closed}`,
      AWS_ACCESS_KEY_ID: 'sim',
      AWS_SECRET_ACCESS_KEY: 'sim',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  expect(run.code).toBe(1);
  expect(run.stdout).toContain(
    `❔ Last drill: unknown — could not check: the state Redis at redis://127.0.0.1:${closed} does not answer: start a Redis there or set REDIS_URL to the bot's own Redis`,
  );
  expect(run.stdout).toMatch(/✅ Object storage replication: ok/);
  expect(run.stdout + run.stderr).not.toContain('pw-state');
  expect(run.stdout).not.toContain('max retries');
}, 60_000);

test("an invalid config is refused with the loader's message", async () => {
  writeFileSync(join(dir, 'bad.yaml'), 'environment: Not Valid\n');
  const run = await dr(['readiness', '--config', 'bad.yaml']);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^dr readiness: config bad.yaml is invalid/);
});
