/**
 * The lab as `dr lab up` makes it, with the secondary's health endpoint marked down through the
 * simulators' control API: a failover request is refused in preflight with the DNS row red,
 * because Route 53 would keep answering the primary, and nothing in the lab changes.
 */
import { loadConfig } from '../../src/config/index.js';
import { openConsoleRuntime, type ConsoleRuntime } from '../../src/console/runtime.js';
import {
  cloudState,
  labCloud,
  labDown,
  labUp,
  readLabEnv,
  setRegionHealth,
  LAB_APPROVERS,
  type LabCloud,
  type LabInfo,
} from '../../src/lab/index.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { inPhase } from '../support/engine-harness.js';
import { silentLog, sql } from '../support/lab.js';
import { labRedisClients } from '../support/redis.js';

let lab: LabInfo | undefined;
let runtime: ConsoleRuntime | undefined;
const { connect, closeAll } = labRedisClients();

afterAll(async () => {
  await runtime?.close();
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
  lab = await labUp();
  const cloud = labCloud(lab)!;
  Object.assign(process.env, readLabEnv(lab.envFile));
  const config = loadConfig({ path: lab.configPath });
  expect(config.components.dns?.provider).toBe('route53');

  await setRegionHealth(cloud, 'secondary', 'down');
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
});
