import { PreconditionFailed } from '../../src/errors.js';
import type { LabInfo } from '../../src/lab/index.js';
import { createRedisProvider } from '../../src/providers/redis/index.js';
import { labRedisClients } from '../support/redis.js';
import type { CacheProvider, Progress } from '../../src/providers/types.js';
import { silentLog, startLab, stopLabs, until } from '../support/lab.js';

const progress: Progress = () => undefined;
const { connect, closeAll } = labRedisClients();

function provider(
  primaryUrl: string,
  secondaryUrl: string,
  useFailoverCommand = true,
  extra: { assumeVersion?: string; promoteTimeoutSeconds?: number } = {},
): CacheProvider {
  return createRedisProvider({
    primaryUrl,
    secondaryUrl,
    promoteTimeoutSeconds: 10,
    useFailoverCommand,
    log: silentLog,
    connectTimeoutMs: 1000,
    ...extra,
  });
}

async function configOf(url: string, name: string): Promise<string> {
  return ((await connect(url).config('GET', name)) as string[])[1]!;
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

async function offset(
  url: string,
  which: 'master_repl_offset' | 'slave_repl_offset',
): Promise<number> {
  const r = connect(url);
  return Number(field(await r.info('replication'), which));
}

async function synced(lab: LabInfo): Promise<void> {
  await until('the replica to apply the whole stream', async () => {
    const m = await offset(lab.redis.primary.url, 'master_repl_offset');
    return (await offset(lab.redis.secondary.url, 'slave_repl_offset')) === m;
  });
}

/** The replica loses its link (the master now wants a password it does not have) and keeps what it has. */
async function holdRedisReplication(lab: LabInfo, password: string): Promise<string> {
  const master = connect(lab.redis.primary.url);
  await master.config('SET', 'requirepass', password);
  await master.call('CLIENT', 'KILL', 'TYPE', 'replica');
  const replica = connect(lab.redis.secondary.url);
  await until(
    'the replica link to go down',
    async () => field(await replica.info('replication'), 'master_link_status') === 'down',
  );
  return `redis://:${password}@127.0.0.1:${lab.redis.primary.port}`;
}

/** The application: RPUSHes one order at a time until the server refuses. */
function startWriter(url: string): {
  acknowledged: number[];
  stop: () => Promise<Error | undefined>;
} {
  const acknowledged: number[] = [];
  const r = connect(url);
  let stopped = false;
  let failure: Error | undefined;
  const loop = (async () => {
    for (let i = 1; !stopped; i++) {
      try {
        await r.rpush('orders', String(i));
        acknowledged.push(i);
      } catch (err) {
        failure = err as Error;
        return;
      }
    }
  })();
  return {
    acknowledged,
    stop: async () => {
      stopped = true;
      await loop;
      return failure;
    },
  };
}

afterAll(async () => {
  await closeAll();
  await stopLabs();
});

describe('planned failover and back', () => {
  let lab: LabInfo;
  beforeAll(async () => {
    lab = await startLab();
  });

  test('readiness of a healthy pair: replica of the primary, link up, planned', async () => {
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url);
    const r = await cache.readiness('secondary');
    expect(r.status).toBe('ready');
    expect(r.primaryReachable).toBe(true);
    expect(r.planFacts).toMatchObject({ targetRole: 'replica', primaryReachable: true });
    expect(r.details.replid).toBe(r.details.otherReplid);
    expect(await cache.isStreamingStandby('secondary')).toBe(true);
    expect(await cache.isWriter('secondary')).toBe(false);
    await cache.close();
  });

  test.each([
    ['FAILOVER TO', 'secondary', true],
    ['pause + REPLICAOF NO ONE', 'primary', false],
  ] as const)(
    '%s while a writer pushes continuously: every acknowledged write is on the new master',
    async (method, target, useFailover) => {
      const cache = provider(lab.redis.primary.url, lab.redis.secondary.url, useFailover);
      const oldSide = target === 'secondary' ? lab.redis.primary : lab.redis.secondary;
      const newSide = target === 'secondary' ? lab.redis.secondary : lab.redis.primary;
      const newMaster = connect(newSide.url);
      const before = await newMaster.llen('orders');
      const writer = startWriter(oldSide.url);
      await until('the writer to get going', async () => writer.acknowledged.length >= 200);

      const result = await cache.promote({ target, mode: 'planned', progress });
      const failure = await writer.stop();

      expect(result.evidence.method).toBe(method);
      expect(result.noop).toBe(false);
      expect(result.rpo).toMatchObject({ component: 'cache', bytes: 0, seconds: 0 });
      // The writer was stopped by the switch, not by the test: the old master refuses writes now.
      expect(failure?.message).toMatch(/READONLY/);
      const all = (await newMaster.lrange('orders', before, -1)).map(Number);
      expect(all).toEqual(writer.acknowledged);
      await newMaster.set('after-failover', '1');
      expect(await cache.isWriter(target)).toBe(true);
      expect((await cache.verifyWriter(target)).every((c) => c.ok)).toBe(true);
      // The old master was demoted, not left as a second writer.
      const standby = target === 'secondary' ? 'primary' : 'secondary';
      await until('the old master to follow the new one', () => cache.isStreamingStandby(standby));
      await expect(connect(oldSide.url).set('x', '1')).rejects.toThrow(/READONLY/);
      await cache.close();
    },
  );

  test('promoting the master again is a no-op that says so', async () => {
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url);
    const again = await cache.promote({ target: 'primary', mode: 'planned', progress });
    expect(again.noop).toBe(true);
    expect(again.summary).toMatch(/already a master/);
    expect(await cache.isStreamingStandby('secondary')).toBe(true);
    await cache.close();
  });

  test('resync makes a stray master a replica of the writer again; consistency then agrees', async () => {
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url);
    await connect(lab.redis.secondary.url).call('REPLICAOF', 'NO', 'ONE');
    await connect(lab.redis.secondary.url).set('stray-write', '1');
    expect(await cache.isStreamingStandby('secondary')).toBe(false);
    const result = await cache.resync({ standby: 'secondary', progress });
    expect(result.noop).toBe(false);
    expect(await cache.isStreamingStandby('secondary')).toBe(true);
    expect(await connect(lab.redis.secondary.url).exists('stray-write')).toBe(0);
    const { checks } = await cache.consistency({ writer: 'primary', progress });
    expect(checks.every((c) => c.ok)).toBe(true);
    await cache.close();
  });

  test('a promotion interrupted after REPLICAOF NO ONE is not "done": promoting again demotes the old master', async () => {
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url);
    await synced(lab);
    // What a crash between the two halves of a promotion leaves behind: two masters, one history.
    await connect(lab.redis.secondary.url).call('REPLICAOF', 'NO', 'ONE');
    expect(await cache.isWriter('secondary')).toBe(false);
    const r = await cache.readiness('secondary');
    expect(r.status).toBe('warning');
    expect(r.summary).toMatch(/interrupted promotion/);

    const result = await cache.promote({ target: 'secondary', mode: 'planned', progress });
    expect(result.noop).toBe(false);
    expect(result.rpo.bytes).toBe(0);
    await until('the old master to follow the new one', () => cache.isStreamingStandby('primary'));
    expect(await cache.isWriter('secondary')).toBe(true);
    expect(await cache.isWriter('primary')).toBe(false);
    await cache.close();
  });
});

describe('wrong targets and unplanned failover', () => {
  let b: LabInfo;
  let c: LabInfo;
  beforeAll(async () => {
    [b, c] = await Promise.all([startLab(), startLab()]);
  });

  test('a replica of another master is refused before any change', async () => {
    const cache = provider(b.redis.primary.url, c.redis.secondary.url);
    const r = await cache.readiness('secondary');
    expect(r.status).toBe('blocked');
    expect(r.summary).toMatch(/not a replica/);
    const attempt = cache.promote({ target: 'secondary', mode: 'planned', progress });
    await expect(attempt).rejects.toBeInstanceOf(PreconditionFailed);
    await expect(attempt).rejects.toMatchObject({ code: 'wrong-target' });
    expect(field(await connect(c.redis.secondary.url).info('replication'), 'role')).toBe('slave');
    await cache.close();
  });

  test('a "replica" that is itself a master beside the primary is refused', async () => {
    const cache = provider(b.redis.primary.url, c.redis.primary.url);
    expect((await cache.readiness('secondary')).status).toBe('blocked');
    await expect(
      cache.promote({ target: 'secondary', mode: 'unplanned', progress }),
    ).rejects.toMatchObject({ code: 'wrong-target' });
    await cache.close();
  });

  test('resync refuses to make an unrelated master a replica: nothing shows it is the stale side', async () => {
    const app = connect(c.redis.primary.url);
    await app.set('own-data', 'kept');
    const cache = provider(b.redis.primary.url, c.redis.primary.url);
    const attempt = cache.resync({ standby: 'secondary', progress });
    await expect(attempt).rejects.toBeInstanceOf(PreconditionFailed);
    await expect(attempt).rejects.toMatchObject({
      code: 'wrong-target',
      message: expect.stringContaining('shares no replication history'),
    });
    expect(field(await app.info('replication'), 'role')).toBe('master');
    expect(await app.get('own-data')).toBe('kept');
    await app.del('own-data');
    await cache.close();
  });

  test('master reachable, link broken: the old master is paused and demoted, RPO is the offset gap', async () => {
    const app = connect(b.redis.primary.url);
    for (let i = 0; i < 20; i++) await app.set(`kept:${i}`, 'v');
    await synced(b);
    const primaryUrl = await holdRedisReplication(b, 's3cret-b');
    const replicaOffset = await offset(b.redis.secondary.url, 'slave_repl_offset');
    const authed = connect(primaryUrl);
    for (let i = 0; i < 5; i++) await authed.set(`lost:${i}`, 'v');
    const masterOffset = await offset(primaryUrl, 'master_repl_offset');
    const cache = provider(primaryUrl, b.redis.secondary.url);
    // Zero loss is impossible with the link down: planned is refused before writes are paused.
    await expect(
      cache.promote({ target: 'secondary', mode: 'planned', progress }),
    ).rejects.toMatchObject({ code: 'precondition-failed', retryable: true });
    expect(await cache.isWriter('primary')).toBe(true);
    expect(await offset(primaryUrl, 'master_repl_offset')).toBe(masterOffset);

    const result = await cache.promote({ target: 'secondary', mode: 'unplanned', progress });

    expect(result.mode).toBe('unplanned');
    expect(result.evidence).toMatchObject({
      fenced: true,
      finalOffset: masterOffset,
      replicaOffset,
    });
    expect(result.rpo.bytes).toBe(masterOffset - replicaOffset);
    expect(result.rpo.bytes).toBeGreaterThan(0);
    // The writes in the gap were taken between the link drop and the fence: that is the window, fixed at the fence.
    expect(result.rpo.seconds).toEqual(expect.any(Number));
    expect(result.rpo.description).toContain(
      `loss window: from the link drop at ${result.evidence.masterContactLostAt} to the fence, ${result.rpo.seconds} s`,
    );
    const newMaster = connect(b.redis.secondary.url);
    expect(await newMaster.exists('kept:19')).toBe(1);
    expect(await newMaster.exists('lost:0')).toBe(0);
    await newMaster.set('after', '1');
    expect(await cache.isWriter('primary')).toBe(false);
    await cache.close();
  });

  test('master killed with replication held back: loss shown first, promotion succeeds, RPO recorded', async () => {
    const app = connect(c.redis.primary.url);
    for (let i = 0; i < 10; i++) await app.set(`kept:${i}`, 'v');
    await synced(c);
    const heldAt = Date.now();
    const primaryUrl = await holdRedisReplication(c, 's3cret-c');
    const replicaOffset = await offset(c.redis.secondary.url, 'slave_repl_offset');
    const authed = connect(primaryUrl);
    for (let i = 0; i < 5; i++) await authed.set(`lost:${i}`, 'v');
    const killedAt = Date.now();
    process.kill(c.redis.primary.pid, 'SIGKILL');
    const cache = provider(primaryUrl, c.redis.secondary.url);
    await until(
      'the master to be gone',
      async () => !(await cache.readiness('secondary')).primaryReachable,
    );

    const readiness = await cache.readiness('secondary');
    expect(readiness.status).toBe('warning');
    expect(readiness.planFacts).toMatchObject({ primaryReachable: false, replicaOffset });
    expect(readiness.expectedLoss?.bytes).toBeNull();
    expect(readiness.expectedLoss?.description).toContain(`offset ${replicaOffset}`);
    // Not "N s ago" (which grows while people read the card): the moment contact was lost, when replication was held.
    expect(readiness.expectedLoss?.seconds).toBeNull();
    const contactLostAt = Date.parse(String(readiness.details.masterContactLostAt));
    expect(contactLostAt).toBeGreaterThanOrEqual(Math.floor(heldAt / 1000) * 1000 - 1000);
    expect(contactLostAt).toBeLessThanOrEqual(killedAt + 1000);
    expect(readiness.expectedLoss?.description).toContain(
      `contact lost at ${readiness.details.masterContactLostAt} (its link to the master dropped)`,
    );

    const result = await cache.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(result.evidence).toMatchObject({ fenced: false, replicaOffset });
    expect(result.summary).toMatch(/NOT demoted/);
    expect(result.rpo.bytes).toBeNull();
    expect(result.rpo.seconds).toBeNull();
    expect(result.rpo.description).toContain(`offset ${replicaOffset}`);
    expect(result.rpo.description).toMatch(
      /^loss window: .* size and duration unknown while the master is unreachable/,
    );
    expect(Date.parse(String(result.evidence.masterContactLostAt))).toBeGreaterThanOrEqual(
      Math.floor(heldAt / 1000) * 1000 - 1000,
    );
    expect(Date.parse(String(result.evidence.masterContactLostAt))).toBeLessThanOrEqual(
      killedAt + 1000,
    );
    const newMaster = connect(c.redis.secondary.url);
    expect(await newMaster.exists('kept:9')).toBe(1);
    expect(await newMaster.exists('lost:0')).toBe(0);
    expect((await cache.verifyWriter('secondary')).every((x) => x.ok)).toBe(true);
    const again = await cache.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(again.noop).toBe(true);
    await cache.close();
  });

  test("two promoted masters of different pairs: the one whose history reaches past the other's promotion is not taken for a restarted old master", async () => {
    // Both secondaries were promoted above, each from its own primary: two histories, no shared stream.
    const promotedAt = async (url: string) =>
      Number(field(await connect(url).info('replication'), 'second_repl_offset'));
    const [atB, atC] = await Promise.all([
      promotedAt(b.redis.secondary.url),
      promotedAt(c.redis.secondary.url),
    ]);
    expect(atB).not.toBe(atC);
    const [stale, writer] =
      atB > atC
        ? [b.redis.secondary.url, c.redis.secondary.url]
        : [c.redis.secondary.url, b.redis.secondary.url];
    const cache = provider(stale, writer);
    const r = await cache.readiness('primary');
    expect(r.status).toBe('blocked');
    expect(r.summary).toMatch(/share no replication history/);
    await expect(cache.resync({ standby: 'primary', progress })).rejects.toMatchObject({
      code: 'wrong-target',
    });
    expect(field(await connect(stale).info('replication'), 'role')).toBe('master');
    await cache.close();
  });
});

describe('the Redis < 6.2 path, forced on this server: min-replicas fence instead of CLIENT PAUSE', () => {
  let lab: LabInfo;
  const OLD = { assumeVersion: '6.0.20' };
  beforeAll(async () => {
    lab = await startLab();
  });

  test("planned while a writer pushes continuously: writes refused at once, the provider's own commands are not; every acknowledged write is on the new master; the old master's setting restored", async () => {
    // An operator's own lag limit, to see it come back.
    await connect(lab.redis.primary.url).config('SET', 'min-replicas-max-lag', '7');
    // useFailoverCommand stays on: FAILOVER does not exist before 6.2 either.
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url, true, OLD);
    const newMaster = connect(lab.redis.secondary.url);
    const writer = startWriter(lab.redis.primary.url);
    await until('the writer to get going', async () => writer.acknowledged.length >= 200);

    const result = await cache.promote({ target: 'secondary', mode: 'planned', progress });
    const failure = await writer.stop();

    expect(result.evidence.method).toBe('min-replicas fence + REPLICAOF NO ONE');
    expect(result.summary).toContain('fenced (min-replicas-to-write)');
    expect(result.rpo).toMatchObject({ bytes: 0, seconds: 0 });
    expect(failure?.message).toMatch(/NOREPLICAS|READONLY/);
    expect((await newMaster.lrange('orders', 0, -1)).map(Number)).toEqual(writer.acknowledged);
    await until('the old master to follow the new one', () => cache.isStreamingStandby('primary'));
    expect(await configOf(lab.redis.primary.url, 'min-replicas-to-write')).toBe('0');
    expect(await configOf(lab.redis.primary.url, 'min-replicas-max-lag')).toBe('7');
    await cache.close();
  });

  test('the replica does not catch up in time: the fence is lifted and the master takes writes again', async () => {
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url, true, {
      ...OLD,
      promoteTimeoutSeconds: 1,
    });
    const replica = connect(lab.redis.primary.url);
    // A paused replica still answers INFO but applies nothing of its master's stream.
    await replica.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    try {
      await connect(lab.redis.secondary.url).set('behind', '1');
      await expect(
        cache.promote({ target: 'primary', mode: 'planned', progress }),
      ).rejects.toMatchObject({
        code: 'timeout',
        message: expect.stringContaining('let through again'),
      });
    } finally {
      await replica.call('CLIENT', 'UNPAUSE');
    }
    expect(await configOf(lab.redis.secondary.url, 'min-replicas-to-write')).toBe('0');
    expect(await connect(lab.redis.secondary.url).set('after-timeout', '1')).toBe('OK');
    expect(await cache.isWriter('secondary')).toBe(true);
    await cache.close();
  });

  test('a fence value left on the target by a switch that stopped midway is cleared when it is promoted', async () => {
    await connect(lab.redis.primary.url).config('SET', 'min-replicas-to-write', '2147483647');
    const cache = provider(lab.redis.primary.url, lab.redis.secondary.url, false);
    await until('the replica to be streaming', () => cache.isStreamingStandby('primary'));
    const result = await cache.promote({ target: 'primary', mode: 'planned', progress });
    expect(result.evidence).toMatchObject({
      method: 'pause + REPLICAOF NO ONE',
      leftoverFenceCleared: true,
    });
    expect(await connect(lab.redis.primary.url).set('writable', '1')).toBe('OK');
    await cache.close();
  });
});
