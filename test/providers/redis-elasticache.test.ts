/**
 * The elasticache-global driver on the lab's real Redis pair behind the ElastiCache simulator:
 * planned and unplanned failover and failback under a write load that measures what was lost,
 * the failovers AWS refuses, refused before anything changes, and the last resort (the detach)
 * offered only where the failover cannot be done while the primary's region is out.
 */
import {
  DisassociateGlobalReplicationGroupCommand,
  ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { errorInfo, PreconditionFailed } from '../../src/errors.js';
import type { LabInfo } from '../../src/lab/index.js';
import { labOutage, labRestore } from '../../src/lab/outage.js';
import {
  startElastiCacheSimulator,
  type ElastiCacheSim,
} from '../../src/lab/simulators/elasticache.js';
import { createElastiCacheGlobalProvider } from '../../src/providers/redis-elasticache/index.js';
import type { CacheProvider, Progress } from '../../src/providers/types.js';
import { silentLog, startLab, stopLabs, until } from '../support/lab.js';
import { labRedisClients } from '../support/redis.js';

const progress: Progress = () => undefined;
const { connect, closeAll } = labRedisClients();
const PRIMARY = { region: 'us-east-1', replicationGroupId: 'lab-cache-use1' };
const SECONDARY = { region: 'us-west-2', replicationGroupId: 'lab-cache-usw2' };

let lab: LabInfo;
let sim: ElastiCacheSim;
const open: CacheProvider[] = [];

function driver(
  extra: {
    pauseWrites?: boolean;
    secondaryGroup?: string;
    primaryUrl?: string;
    failoverTimeoutSeconds?: number;
  } = {},
): CacheProvider {
  const p = createElastiCacheGlobalProvider({
    globalReplicationGroupId: sim.globalReplicationGroupId,
    primary: PRIMARY,
    secondary: {
      ...SECONDARY,
      replicationGroupId: extra.secondaryGroup ?? SECONDARY.replicationGroupId,
    },
    pauseWrites: extra.pauseWrites ?? true,
    failoverTimeoutSeconds: extra.failoverTimeoutSeconds ?? 20,
    endpoint: sim.url,
    cloudwatchEndpoint: sim.url,
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
    primaryUrl: extra.primaryUrl ?? lab.redis.primary.url,
    secondaryUrl: lab.redis.secondary.url,
    promoteTimeoutSeconds: 10,
    log: silentLog,
    connectTimeoutMs: 1000,
  });
  open.push(p);
  return p;
}

async function role(url: string): Promise<string> {
  return /^role:(\w+)/m.exec(await connect(url).info('replication'))![1]!;
}

/** The application: RPUSHes one number at a time to whichever node it is given, until refused. */
function startWriter(url: string, key: string) {
  const acknowledged: number[] = [];
  const r = connect(url);
  let stopped = false;
  const loop = (async () => {
    for (let i = 1; !stopped; i++) {
      try {
        await r.rpush(key, String(i));
        acknowledged.push(i);
      } catch {
        return;
      }
    }
  })();
  return {
    acknowledged,
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
  };
}

/** Acknowledged writes missing from the serving node: the RPO measured by the write load. */
async function lost(url: string, key: string, acknowledged: number[]): Promise<number> {
  const present = new Set(await connect(url).lrange(key, 0, -1));
  return acknowledged.filter((i) => !present.has(String(i))).length;
}

beforeAll(async () => {
  lab = await startLab();
  sim = await startElastiCacheSimulator({
    primary: { ...PRIMARY, url: lab.redis.primary.url },
    secondary: { ...SECONDARY, url: lab.redis.secondary.url },
    failoverDelayMs: 200,
    lagSampleMs: 200,
  });
});

afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
  await closeAll();
  await sim?.stop();
  await stopLabs();
});

describe('what AWS refuses is refused before any call', () => {
  test('readiness shows roles, link state, the rights it proved and what it cannot do', async () => {
    const r = await driver().readiness('secondary');
    expect(r.status).toBe('ready');
    expect(r.summary).toContain('lab-cache-use1@us-east-1: PRIMARY associated');
    expect(r.summary).toContain('lab-cache-usw2@us-west-2: SECONDARY associated');
    expect(r.warnings?.join('\n')).toMatch(/FailoverGlobalReplicationGroup cannot be dry-run/);
    expect(r.warnings?.join('\n')).toMatch(
      /DisassociateGlobalReplicationGroup is sent only as the last resort/,
    );
    expect(r.warnings?.join('\n')).toMatch(/CLIENT PAUSE WRITE.*zero loss/);
  });

  test('the lag row gives both sources: INFO offsets and CloudWatch, with the age of its datapoint', async () => {
    await until('a lag datapoint', async () => sim.lagPoints().length > 0);
    const r = await driver().readiness('secondary');
    expect(r.summary).toMatch(
      /lag \d+ B \(INFO replication offsets, now\); \d+(\.\d)? s \(CloudWatch GlobalDatastoreReplicationLag of lab-cache-usw2-001, Maximum per minute, datapoint \d+ s old\)/,
    );
    expect(r.details).toMatchObject({ cloudwatchLagSeconds: expect.any(Number) });
    // Sent as the SDK sends it, to the secondary's region: AWS JSON 1.0, GetMetricData.
    const call = sim.requests.filter((q) => q.headers['x-amz-target']).at(-1)!;
    expect(call.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
    expect(call.headers.authorization).toMatch(/\/us-west-2\/monitoring\/aws4_request/);
  });

  test('CloudWatch refuses what GetMetricData refuses; an unknown node has no datapoints', async () => {
    const cw = new CloudWatchClient({
      region: SECONDARY.region,
      endpoint: sim.url,
      credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
    });
    const query = (id: string, period: number, cluster = 'lab-cache-usw2-001') =>
      new GetMetricDataCommand({
        StartTime: new Date(Date.now() - 600_000),
        EndTime: new Date(),
        MetricDataQueries: [
          {
            Id: id,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/ElastiCache',
                MetricName: 'GlobalDatastoreReplicationLag',
                Dimensions: [{ Name: 'CacheClusterId', Value: cluster }],
              },
              Period: period,
              Stat: 'Maximum',
            },
          },
        ],
      });
    try {
      await expect(cw.send(query('Lag', 60))).rejects.toMatchObject({
        name: 'InvalidParameterValueException',
      });
      await expect(cw.send(query('lag', 45))).rejects.toThrow(/multiple of 60/);
      const none = await cw.send(query('lag', 60, 'someone-elses-001'));
      expect(none.MetricDataResults?.[0]?.Values).toEqual([]);
      const some = await cw.send(query('lag', 60));
      expect(some.MetricDataResults?.[0]?.Timestamps?.[0]).toBeInstanceOf(Date);
    } finally {
      cw.destroy();
    }
  });

  test('a datastore that is not available: blocked on the card, no failover sent', async () => {
    sim.setStatus('modifying');
    try {
      const d = driver();
      const r = await d.readiness('secondary');
      expect(r.status).toBe('blocked');
      expect(r.summary).toMatch(/modifying, not available/);
      await expect(d.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
        PreconditionFailed,
      );
      expect(sim.requestsFor('FailoverGlobalReplicationGroup')).toHaveLength(0);
      // The simulator refuses it too, as AWS does, when the SDK sends it anyway.
      const client = new ElastiCacheClient({
        region: SECONDARY.region,
        endpoint: sim.url,
        credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
      });
      await expect(
        client.send(
          new FailoverGlobalReplicationGroupCommand({
            GlobalReplicationGroupId: sim.globalReplicationGroupId,
            PrimaryRegion: SECONDARY.region,
            PrimaryReplicationGroupId: SECONDARY.replicationGroupId,
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidGlobalReplicationGroupStateFault' });
      client.destroy();
    } finally {
      sim.setStatus('available');
    }
    expect(await role(lab.redis.secondary.url)).toBe('slave');
  });

  test('a replication group that is not a member: wrong target, nothing sent', async () => {
    const d = driver({ secondaryGroup: 'someone-elses-cache' });
    const sentBefore = sim.requestsFor('FailoverGlobalReplicationGroup').length;
    const r = await d.readiness('secondary');
    expect(r.status).toBe('blocked');
    expect(r.summary).toMatch(/someone-elses-cache in us-west-2 is not a member/);
    await expect(d.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
      /not a member/,
    );
    expect(sim.requestsFor('FailoverGlobalReplicationGroup')).toHaveLength(sentBefore);
  });
});

describe('failover and failback on the real pair', () => {
  test('planned failover pauses writes, waits for zero lag: no acknowledged write lost', async () => {
    const d = driver();
    const w = startWriter(lab.redis.primary.url, 'orders:planned');
    await until('some writes', async () => w.acknowledged.length > 50);
    const res = await d.promote({ target: 'secondary', mode: 'planned', progress });
    await w.stop();
    expect(res.rpo.bytes).toBe(0);
    expect(res.evidence).toMatchObject({ paused: true });
    const sent = sim.requestsFor('FailoverGlobalReplicationGroup').at(-1)!.body;
    expect(sent).toContain('PrimaryRegion=us-west-2');
    expect(sent).toContain('PrimaryReplicationGroupId=lab-cache-usw2');
    expect(await role(lab.redis.secondary.url)).toBe('master');
    expect(await role(lab.redis.primary.url)).toBe('slave');
    expect(await d.isWriter('secondary')).toBe(true);
    expect(await lost(lab.redis.secondary.url, 'orders:planned', w.acknowledged)).toBe(0);
  });

  test('failback: the old primary is a SECONDARY again, consistent, and planned back', async () => {
    const d = driver();
    await d.resync({ standby: 'primary', progress });
    expect(await d.isStreamingStandby('primary')).toBe(true);
    const { checks } = await d.consistency({ writer: 'secondary', progress });
    expect(checks.every((c) => c.ok)).toBe(true);
    const w = startWriter(lab.redis.secondary.url, 'orders:failback');
    await until('some writes', async () => w.acknowledged.length > 50);
    const res = await d.promote({ target: 'primary', mode: 'planned', progress });
    await w.stop();
    expect(res.rpo.bytes).toBe(0);
    expect(await role(lab.redis.primary.url)).toBe('master');
    expect(await lost(lab.redis.primary.url, 'orders:failback', w.acknowledged)).toBe(0);
  });

  test('unplanned with a lagging secondary: the card and the RPO give the lag, the write load confirms it', async () => {
    const primary = connect(lab.redis.primary.url);
    await connect(lab.redis.primary.url).rpush('orders:unplanned', 'before');
    await until(
      'the secondary to have it',
      async () => (await connect(lab.redis.secondary.url).llen('orders:unplanned')) === 1,
    );
    // Cut replication: the primary now wants a password the secondary does not have.
    await primary.config('SET', 'requirepass', 'held');
    await primary.call('CLIENT', 'KILL', 'TYPE', 'replica');
    const heldUrl = `redis://:held@127.0.0.1:${lab.redis.primary.port}`;
    const held = connect(heldUrl);
    for (let i = 1; i <= 20; i++) await held.rpush('orders:unplanned', String(i));
    // The bot still reads the old primary's offset (it has the password); the service cannot demote it.
    const d = driver({ pauseWrites: false, primaryUrl: heldUrl });
    const card = await d.readiness('secondary');
    expect(card.status).toBe('warning');
    expect(card.expectedLoss?.description).toMatch(/may lose up to the measured lag/);
    expect(card.expectedLoss?.bytes).toBeGreaterThan(0);
    const res = await d.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(res.rpo.bytes).toBeGreaterThan(0);
    expect(await role(lab.redis.secondary.url)).toBe('master');
    const acknowledged = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(await lost(lab.redis.secondary.url, 'orders:unplanned', acknowledged)).toBe(20);
    // The old primary could not be demoted (it refused the service): re-attached once it answers.
    expect(sim.datastore().members.find((m) => m.role === 'SECONDARY')?.status).toBe('associating');
    await held.config('SET', 'requirepass', '');
    await d.resync({ standby: 'primary', progress });
    expect(await role(lab.redis.primary.url)).toBe('slave');
  });

  test('failback after the unplanned failover: planned, zero loss', async () => {
    const d = driver();
    await until('the old primary to catch up', () => d.isStreamingStandby('primary'));
    const w = startWriter(lab.redis.secondary.url, 'orders:back');
    await until('some writes', async () => w.acknowledged.length > 50);
    const res = await d.promote({ target: 'primary', mode: 'planned', progress });
    await w.stop();
    expect(res.rpo.bytes).toBe(0);
    expect(await lost(lab.redis.primary.url, 'orders:back', w.acknowledged)).toBe(0);
    expect(sim.datastore().members.map((m) => `${m.replicationGroupId}:${m.role}`)).toEqual([
      'lab-cache-use1:PRIMARY',
      'lab-cache-usw2:SECONDARY',
    ]);
  });
});

describe('a regional outage of the primary', () => {
  test('unplanned: the card says the lag cannot be paused or read; the replica keeps a prefix', async () => {
    const w = startWriter(lab.redis.primary.url, 'orders:outage');
    await until('some writes', async () => w.acknowledged.length > 50);
    await labOutage({ dir: lab.dir, region: 'primary' });
    await w.stop();
    const d = driver();
    const card = await d.readiness('secondary');
    expect(card.status).toBe('warning');
    expect(card.primaryReachable).toBe(false);
    // INFO replication cannot answer on the dead primary: the lag is CloudWatch's, with its age.
    expect(card.summary).toMatch(/lag INFO replication does not answer on both endpoints; \d/);
    expect(card.expectedLoss?.description).toMatch(
      /writes cannot be paused \(primary is unreachable\).*may lose up to the measured lag \(\d+(\.\d)? s \(CloudWatch GlobalDatastoreReplicationLag of lab-cache-usw2-001, Maximum per minute, datapoint \d+ s old\)\)/,
    );
    expect(card.expectedLoss?.seconds).toEqual(expect.any(Number));
    const res = await d.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(res.rpo.bytes).toBeNull();
    expect(res.rpo.seconds).toEqual(expect.any(Number));
    expect(res.rpo.description).toMatch(
      /INFO replication did not answer on both endpoints; the lag before the failover was \d/,
    );
    expect(await d.isWriter('secondary')).toBe(true);
    // What the write load measures: the new primary holds 1..k of the acknowledged writes, no holes.
    const kept = (await connect(lab.redis.secondary.url).lrange('orders:outage', 0, -1)).map(
      Number,
    );
    expect(kept).toEqual(w.acknowledged.slice(0, kept.length));
    expect(sim.datastore().members.find((m) => m.role === 'SECONDARY')?.status).toBe('associating');
  });

  test('the region back: AWS re-attaches it as SECONDARY, then a planned failback loses nothing', async () => {
    await labRestore({ dir: lab.dir, region: 'primary' });
    const d = driver();
    await d.resync({ standby: 'primary', progress });
    expect(await role(lab.redis.primary.url)).toBe('slave');
    await until('the old primary to catch up', () => d.isStreamingStandby('primary'));
    const w = startWriter(lab.redis.secondary.url, 'orders:after-outage');
    await until('some writes', async () => w.acknowledged.length > 50);
    const res = await d.promote({ target: 'primary', mode: 'planned', progress });
    await w.stop();
    expect(res.rpo.bytes).toBe(0);
    expect(await lost(lab.redis.primary.url, 'orders:after-outage', w.acknowledged)).toBe(0);
  });
});

/** What the SDK gets from the simulator when it sends Disassociate itself. */
async function sdkDisassociate(group: { region: string; replicationGroupId: string }) {
  const client = new ElastiCacheClient({
    region: group.region,
    endpoint: sim.url,
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
  });
  try {
    return await client.send(
      new DisassociateGlobalReplicationGroupCommand({
        GlobalReplicationGroupId: sim.globalReplicationGroupId,
        ReplicationGroupId: group.replicationGroupId,
        ReplicationGroupRegion: group.region,
      }),
    );
  } finally {
    client.destroy();
  }
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => errorInfo(err),
  );

describe('the last resort: detach the secondary', () => {
  test('offered only where the failover cannot be done with the primary region out, and never sent', async () => {
    // The primary is healthy: a refused failover is retried, never detached.
    sim.breakFailovers('error');
    const d = driver();
    const healthy = await failure(d.promote({ target: 'secondary', mode: 'unplanned', progress }));
    expect(healthy.message).toMatch(/InternalFailure/);
    expect(healthy.lastResort).toBeUndefined();
    await labOutage({ dir: lab.dir, region: 'primary' });
    const refused = await failure(d.promote({ target: 'secondary', mode: 'unplanned', progress }));
    expect(refused.lastResort).toEqual({
      action: 'detach-cache',
      why: expect.stringMatching(
        /FailoverGlobalReplicationGroup cannot switch while us-east-1 is out .*InternalFailure.*standalone writable cluster.*re-adding a region to a datastore wipes that region's data/,
      ),
    });
    // A planned switch never offers it.
    const planned = await failure(d.promote({ target: 'secondary', mode: 'planned', progress }));
    expect(planned.lastResort).toBeUndefined();
    expect(sim.requestsFor('DisassociateGlobalReplicationGroup')).toHaveLength(0);
    expect(await role(lab.redis.secondary.url)).toBe('slave');
  });

  test('a failover stuck modifying offers it; AWS refuses the detach until available, the driver before sending', async () => {
    sim.breakFailovers('stuck');
    const d = driver({ failoverTimeoutSeconds: 1 });
    const stuck = await failure(d.promote({ target: 'secondary', mode: 'unplanned', progress }));
    expect(stuck.code).toBe('timeout');
    expect(stuck.lastResort?.action).toBe('detach-cache');
    expect(sim.datastore().status).toBe('modifying');
    const early = await failure(d.detach!({ target: 'secondary', progress }));
    expect(early.message).toMatch(
      /modifying: AWS refuses DisassociateGlobalReplicationGroup \(InvalidGlobalReplicationGroupState\)/,
    );
    // The button stays: detaching again is still the way out once the datastore is available.
    expect(early.lastResort?.action).toBe('detach-cache');
    expect(sim.requestsFor('DisassociateGlobalReplicationGroup')).toHaveLength(0);
    await expect(sdkDisassociate(SECONDARY)).rejects.toMatchObject({
      name: 'InvalidGlobalReplicationGroupStateFault',
    });
    sim.setStatus('available');
    sim.breakFailovers(null);
  });

  test('AWS detaches only secondaries: the primary member is refused by the simulator and the driver', async () => {
    await expect(sdkDisassociate(PRIMARY)).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    await expect(sdkDisassociate({ ...SECONDARY, region: 'eu-west-1' })).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    const before = sim.requestsFor('DisassociateGlobalReplicationGroup').length;
    await expect(driver().detach!({ target: 'primary', progress })).rejects.toThrow(
      /is the datastore's PRIMARY: AWS detaches only secondaries/,
    );
    expect(sim.requestsFor('DisassociateGlobalReplicationGroup')).toHaveLength(before);
    expect(sim.datastore().members).toHaveLength(2);
  });

  test('the detach makes the real secondary a standalone writer with its data; failback is left to a person', async () => {
    const kept = await connect(lab.redis.secondary.url).llen('orders:after-outage');
    expect(kept).toBeGreaterThan(0);
    const d = driver();
    const res = await d.detach!({ target: 'secondary', progress });
    expect(res.noop).toBe(false);
    expect(res.summary).toMatch(
      /lab-cache-usw2 \(us-west-2\) detached by DisassociateGlobalReplicationGroup.*WIPES lab-cache-use1's data/,
    );
    const sent = sim.requestsFor('DisassociateGlobalReplicationGroup').at(-1)!;
    expect(sent.body).toContain('ReplicationGroupId=lab-cache-usw2');
    expect(sent.body).toContain('ReplicationGroupRegion=us-west-2');
    // Sent to the secondary's own region, the one that answers during the outage.
    expect(sent.headers.authorization).toMatch(/\/us-west-2\/elasticache\/aws4_request/);
    expect(await role(lab.redis.secondary.url)).toBe('master');
    expect(await connect(lab.redis.secondary.url).llen('orders:after-outage')).toBe(kept);
    await connect(lab.redis.secondary.url).set('after:detach', 'written');
    expect(sim.datastore()).toMatchObject({
      status: 'primary-only',
      members: [{ replicationGroupId: 'lab-cache-use1', role: 'PRIMARY' }],
    });
    expect(await d.isWriter('secondary')).toBe(true);
    const again = await d.detach!({ target: 'secondary', progress });
    expect(again.noop).toBe(true);
    // Failback: refused with what a person must do; the bot re-links nothing.
    await labRestore({ dir: lab.dir, region: 'primary' });
    const card = await d.readiness('primary');
    expect(card.status).toBe('blocked');
    expect(card.summary).toMatch(
      /was detached from the global datastore .*re-create the link by hand/,
    );
    await expect(d.resync({ standby: 'primary', progress })).rejects.toThrow(/WIPES/);
    expect(await role(lab.redis.primary.url)).toBe('master');
  });
});
