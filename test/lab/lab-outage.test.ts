/**
 * A regional outage played on the lab and ended, as a person plays it: `dr lab outage`, a
 * failover of a lost region (unplanned promotions), `dr lab restore`, then what a failback sees.
 * The restored servers come back as what they were, with their data; `dr lab status` shows the
 * outage, and the two writers the restore leaves until the failback. First, on the same lab, the
 * secondary's health endpoint marked down through the simulators' control API: a failover request
 * is refused in preflight with the DNS row red, because Route 53 would keep answering the primary,
 * and nothing in the lab changes.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openConsoleRuntime, type ConsoleRuntime } from '../../src/console/runtime.js';
import {
  cloudState,
  labCloud,
  labDown,
  labStatus,
  labUp,
  readLabEnv,
  readLabInfo,
  setRegionHealth,
  writerWarnings,
  LAB_APPROVERS,
  type LabCloud,
  type LabInfo,
  type PgStatus,
  type RedisStatus,
} from '../../src/lab/index.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { inPhase } from '../support/engine-harness.js';
import { createRedisProvider } from '../../src/providers/redis/index.js';
import { labRedisClients } from '../support/redis.js';
import type { CacheProvider, DatabaseProvider } from '../../src/providers/types.js';
import { runDr, runDrHere } from '../support/dr-cli.js';
import {
  holdPostgresReplication,
  labPostgresProvider,
  silentLog,
  sql,
  until,
} from '../support/lab.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };

let lab: LabInfo;
let runtime: ConsoleRuntime | undefined;
let db: DatabaseProvider;
let cache: CacheProvider;
const { connect, closeAll } = labRedisClients();

beforeAll(async () => {
  // The lab as `dr lab up` makes it: simulators (the health endpoints) and pg_walinspect.
  lab = await labUp({ dir: join(tmpdir(), `dr-lab-outage-${process.pid}-${Date.now()}`) });
  db = labPostgresProvider(lab.postgres.primary.url, lab.postgres.secondary.url);
  cache = createRedisProvider({
    primaryUrl: lab.redis.primary.url,
    secondaryUrl: lab.redis.secondary.url,
    promoteTimeoutSeconds: 10,
    useFailoverCommand: true,
    log: silentLog,
    connectTimeoutMs: 1000,
  });
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  await db?.close();
  await cache?.close();
  await closeAll();
  if (lab) await labDown({ dir: lab.dir });
});

/** What a person would look at to see whether anything moved: DNS, data roles, fences, replicas. */
async function world(info: LabInfo, cloud: LabCloud) {
  const state = await cloudState(cloud);
  if ('error' in state) throw new Error(state.error);
  const resolve = createResolver({ servers: [cloud.route53.dnsServer] });
  const pg = async (url: string) =>
    (
      await sql<{ recovery: boolean; ro: string }>(
        url,
        'SELECT pg_is_in_recovery() AS recovery, current_setting($1) AS ro',
        ['default_transaction_read_only'],
      )
    )[0];
  const role = async (url: string) =>
    /^role:(\w+)/m.exec(await connect(url).info('replication'))![1];
  return {
    route53: state.route53,
    resolved: await resolve(cloud.route53.recordName, 'A'),
    kubernetes: state.kubernetes,
    postgres: [await pg(info.postgres.primary.url), await pg(info.postgres.secondary.url)],
    redis: [await role(info.redis.primary.url), await role(info.redis.secondary.url)],
  };
}

test("the secondary's health endpoint down: preflight shows the DNS row red and the failover changes nothing", async () => {
  const cloud = labCloud(lab)!;
  Object.assign(process.env, readLabEnv(lab.envFile));
  const config = loadConfig({ path: lab.configPath });
  expect(config.components.dns?.provider).toBe('route53');

  await setRegionHealth(cloud, 'secondary', 'down');
  try {
    const before = await world(lab, cloud);
    expect(before.route53).toMatchObject({
      servedBy: 'primary',
      primaryHealthCheckInverted: false,
      primaryHealthCheckDisabled: false,
    });
    expect(before.postgres).toEqual([
      { recovery: false, ro: 'off' },
      { recovery: true, ro: 'off' },
    ]);
    expect(before.redis).toEqual(['master', 'slave']);

    runtime = await openConsoleRuntime({
      config,
      env: { ...process.env, REDIS_URL: lab.stateRedis.url },
      log: silentLog,
    });
    const req = await runtime.engine.request({
      kind: 'failover',
      mode: 'planned',
      requester: LAB_APPROVERS[0]!,
      reason: 'secondary health endpoint down',
    });
    if (!req.ok) throw new Error(req.message);
    const refused = await inPhase(runtime.engine, req.op.id, 'refused');
    const dns = refused.preflight?.components.find((c) => c.component === 'dns');
    expect(dns?.status).toBe('blocked');
    expect(dns?.summary).toMatch(
      /^secondary unhealthy: Route 53 would keep answering the primary \(health check hc-0000-secondary: 0 of 5 checkers report success \(Failure: HTTP Status Code 503/,
    );
    expect(refused.lastError?.message).toContain(
      'dns: secondary unhealthy: Route 53 would keep answering the primary',
    );
    expect(refused.steps.filter((s) => s.attempts > 0)).toEqual([]);

    expect(await world(lab, cloud)).toEqual(before);
  } finally {
    await runtime?.close();
    runtime = undefined;
    await setRegionHealth(cloud, 'secondary', 'up');
  }
});

test('outage, unplanned failover, restore: the old primaries come back as writers with their data, status shows the outage then two writers, and failback readiness counts the lost transactions', async () => {
  const { dir } = lab;
  const P = lab.postgres.primary.url;
  const S = lab.postgres.secondary.url;
  await sql(P, 'CREATE TABLE orders (id int PRIMARY KEY)');
  await sql(P, 'INSERT INTO orders SELECT generate_series(1, 50)');
  await until(
    'the standby to have row 50',
    async () => (await sql(S, 'SELECT 1 FROM orders WHERE id = 50')).length === 1,
  );
  // The loss window of the outage: three commits the standby never receives.
  await holdPostgresReplication(lab);
  for (const id of [51, 52, 53]) await sql(P, 'INSERT INTO orders VALUES ($1)', [id]);
  await connect(lab.redis.primary.url).set('before-outage', 'kept');
  await until(
    'the Redis replica to have it',
    async () => (await connect(lab.redis.secondary.url).get('before-outage')) === 'kept',
  );

  const outage = await runDr(['lab', 'outage', '--dir', dir], { env: ENV });
  expect([outage.code, outage.stderr]).toEqual([0, '']);
  expect(outage.stdout).toContain(
    'postgres lab-primary    stopped as a crash (pg_ctl stop -m immediate: no shutdown checkpoint)',
  );
  expect(outage.stdout).toContain(
    'redis    lab-primary    killed (SIGKILL); it was a master, its data saved for the restore',
  );
  expect(outage.stdout).toContain('health endpoint     stopped (refuses connections)');

  const down = await labStatus({ dir });
  expect(down.postgres.map((s) => [s.name, s.healthy])).toEqual([
    ['lab-primary', false],
    ['lab-secondary', true],
  ]);
  expect(down.redis.map((s) => [s.name, s.healthy])).toEqual([
    ['lab-primary', false],
    ['lab-secondary', true],
  ]);
  expect(down.outage).toMatchObject({ region: 'primary', redisReplicaOf: null });
  expect(down.cloud).toMatchObject({
    health: { primary: { running: false }, secondary: { running: true, healthy: true } },
  });
  const downOut = (await runDr(['lab', 'status', '--dir', dir], { env: ENV })).stdout;
  expect(downOut).toMatch(
    new RegExp(
      `postgres lab-primary +DOWN \\(regional outage played by dr lab outage at [^:]+:[^:]+:[^:]+: npx dr lab restore --dir ${dir} brings it back\\)`,
    ),
  );
  expect(downOut).toMatch(/redis {4}lab-primary +DOWN \(regional outage/);
  expect(downOut).toMatch(/health endpoints +primary stopped \(refuses connections\)/);
  expect(downOut).not.toContain('WARNING');

  // The failover of a lost region: the secondary side is promoted without the primary.
  await db.promote({ target: 'secondary', mode: 'unplanned', progress: () => undefined });
  await cache.promote({ target: 'secondary', mode: 'unplanned', progress: () => undefined });
  await sql(S, 'INSERT INTO orders VALUES (1000)');

  const restore = await runDr(['lab', 'restore', '--dir', dir], { env: ENV });
  expect([restore.code, restore.stderr]).toEqual([0, '']);
  expect(restore.stdout).toMatch(
    /postgres lab-primary +started from its data directory \(pid \d+\)/,
  );
  expect(restore.stdout).toMatch(
    /redis {4}lab-primary +started as a master with the data it had \(pid \d+\)/,
  );
  expect(restore.stdout).toContain('health endpoint     listening and healthy');

  const back = await labStatus({ dir });
  expect(back.outage).toBeNull();
  // As they were: the old PostgreSQL primary a writer again (on its old timeline), the old Redis master a master.
  expect(back.postgres.map((s) => [s.name, s.healthy, s.role, s.readOnly])).toEqual([
    ['lab-primary', true, 'primary', false],
    ['lab-secondary', true, 'primary', false],
  ]);
  expect(back.redis.map((s) => [s.name, s.healthy, s.role])).toEqual([
    ['lab-primary', true, 'master'],
    ['lab-secondary', true, 'master'],
  ]);
  expect(back.cloud).toMatchObject({ health: { primary: { running: true, healthy: true } } });
  // With their own data: every row it had, the three the standby never received too, and the Redis key.
  expect((await sql<{ n: string }>(P, 'SELECT count(*) AS n FROM orders'))[0].n).toBe('53');
  expect(await connect(lab.redis.primary.url).get('before-outage')).toBe('kept');
  // lab.json follows the restarted servers, so `dr lab down` stops them.
  const after = readLabInfo(dir);
  expect([after.postgres.primary.pid, after.redis.primary.pid]).toEqual([
    back.postgres[0]!.pid,
    back.redis[0]!.pid,
  ]);
  expect(after.outage).toBeUndefined();

  expect(back.warnings).toEqual([
    expect.stringContaining(
      'two PostgreSQL writers: lab-primary and lab-secondary both accept writes',
    ),
    expect.stringContaining('two Redis writers: lab-primary and lab-secondary are both masters'),
  ]);
  const backOut = (await runDr(['lab', 'status', '--dir', dir], { env: ENV })).stdout;
  expect(backOut).toMatch(/^WARNING: two PostgreSQL writers: /m);
  expect(backOut).toMatch(/^WARNING: two Redis writers: /m);

  // A failback can run: the restored old primary is the stale side, and pg_walinspect (created by
  // the lab) counts the commits a resync would discard instead of "not counted".
  const pgReady = await db.readiness('primary');
  expect(pgReady.planFacts).toMatchObject({ targetRole: 'stale-writer', resyncMethod: 'rewind' });
  expect(pgReady.planFacts.lostTransactions).toBeGreaterThanOrEqual(3);
  expect(pgReady.expectedLoss?.description).toMatch(/\(\d+ committed transactions\)/);
  expect(pgReady.expectedLoss?.description).not.toContain('not counted');
  const cacheReady = await cache.readiness('primary');
  expect(cacheReady).toMatchObject({
    status: 'warning',
    planFacts: { targetRole: 'stale-master' },
  });
});

test('outage of a region while another is out is refused; restore with nothing down starts nothing', async () => {
  const { dir } = lab;
  // The CLI's code in this process: the outage and restore children of the test above are enough.
  expect(
    (await runDrHere(['lab', 'outage', '--dir', dir, '--region', 'secondary'], ENV)).code,
  ).toBe(0);
  const twice = await runDrHere(['lab', 'outage', '--dir', dir], ENV);
  expect(twice.code).toBe(1);
  expect(twice.stderr).toContain(`the secondary region is already out`);
  expect((await runDrHere(['lab', 'restore', '--dir', dir], ENV)).stdout).toMatch(
    /secondary region of .* restored/,
  );
  const again = await runDrHere(['lab', 'restore', '--dir', dir], ENV);
  expect(again.stdout).toMatch(/postgres lab-primary +was running/);
  expect(again.stdout).toMatch(/redis {4}lab-primary +was running/);
  expect((await labStatus({ dir })).postgres.every((s) => s.healthy)).toBe(true);
});

describe('writerWarnings', () => {
  const pg = (name: string, role: 'primary' | 'standby', readOnly = false): PgStatus => ({
    name,
    url: '',
    pid: 1,
    healthy: true,
    role,
    readOnly,
  });
  const redis = (
    name: string,
    role: 'master' | 'replica',
    fenced?: RedisStatus['fenced'],
  ): RedisStatus => ({ name, url: '', pid: 1, healthy: true, role, ...(fenced ? { fenced } : {}) });

  test('a fenced old primary beside the promoted standby is one writer: no warning', () => {
    expect(
      writerWarnings(
        [pg('a', 'primary', true), pg('b', 'primary')],
        [redis('a', 'replica'), redis('b', 'master')],
      ),
    ).toEqual([]);
  });

  test('a Redis master fenced by min-replicas-to-write does not count as a writer', () => {
    expect(
      writerWarnings(
        [],
        [redis('a', 'master', { minReplicasToWrite: 3, goodReplicas: 0 }), redis('b', 'master')],
      ),
    ).toEqual([]);
  });

  test('no writer at all is said too', () => {
    expect(
      writerWarnings(
        [pg('a', 'primary', true), pg('b', 'standby')],
        [redis('a', 'replica'), redis('b', 'replica')],
      ),
    ).toEqual([
      'no PostgreSQL writer: a is fenced read-only and b is a standby; finish the failover (promote the standby) or lift the fence',
      'no Redis writer: a and b are both replicas; finish the failover or lift the fence',
    ]);
  });

  test('a server that is down is no writer, and no warning is guessed', () => {
    expect(
      writerWarnings(
        [{ ...pg('a', 'primary'), healthy: false }, pg('b', 'primary')],
        [{ ...redis('a', 'master'), healthy: false }, redis('b', 'master')],
      ),
    ).toEqual([]);
  });
});
