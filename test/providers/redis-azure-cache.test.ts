/**
 * The azure-cache driver through @azure/arm-rediscache against the Azure Cache simulator on the
 * lab's real Redis pair: planned unlink under an INCR write load (0 acknowledged lost), unplanned
 * with the loss on the card, failback relink that flushes the cache the card named, and what
 * Azure refuses.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { RedisManagementClient } from '@azure/arm-rediscache';
import { PreconditionFailed } from '../../src/errors.js';
import type { LabInfo } from '../../src/lab/index.js';
import {
  startAzureCacheSimulator,
  type AzureCacheSim,
} from '../../src/lab/simulators/azure-cache.js';
import { createAzureCacheProvider } from '../../src/providers/redis-azure-cache/index.js';
import type { CacheProvider, Progress } from '../../src/providers/types.js';
import { silentLog, startLab, stopLabs, until } from '../support/lab.js';
import { labRedisClients } from '../support/redis.js';

const progress: Progress = () => undefined;
const { connect, closeAll } = labRedisClients();
const P = { resourceGroup: 'rg-weu', name: 'lab-cache-weu', location: 'West Europe' };
const S = { resourceGroup: 'rg-neu', name: 'lab-cache-neu', location: 'North Europe' };

let lab: LabInfo;
let sim: AzureCacheSim;
const open: CacheProvider[] = [];

const staticToken = (token: string): TokenCredential => ({
  getToken: async (): Promise<AccessToken> => ({
    token,
    expiresOnTimestamp: Date.now() + 3600_000,
  }),
});

function driver(extra: { pauseWrites?: boolean; primaryUrl?: string } = {}): CacheProvider {
  const p = createAzureCacheProvider({
    subscriptionId: sim.subscriptionId,
    primary: { resourceGroup: P.resourceGroup, name: P.name },
    secondary: { resourceGroup: S.resourceGroup, name: S.name },
    pauseWrites: extra.pauseWrites ?? true,
    operationTimeoutSeconds: 30,
    pollIntervalMs: 100,
    endpoint: sim.url,
    ca: sim.ca,
    credential: staticToken(sim.token),
    primaryUrl: extra.primaryUrl ?? lab.redis.primary.url,
    secondaryUrl: lab.redis.secondary.url,
    promoteTimeoutSeconds: 10,
    log: silentLog,
    connectTimeoutMs: 1000,
  });
  open.push(p);
  return p;
}

const role = async (url: string): Promise<string> =>
  /^role:(\w+)/m.exec(await connect(url).info('replication'))![1]!;

/** The application: INCRs a counter on one cache until stopped (its connection cut) or refused. */
function startWriter(url: string, key: string) {
  let acknowledged = 0;
  const r = connect(url);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        acknowledged = Math.max(acknowledged, await r.incr(key));
      } catch {
        return;
      }
    }
  })();
  return {
    acknowledged: () => acknowledged,
    async stop(): Promise<void> {
      stopped = true;
      // A client moving away: an INCR blocked by the pause is never acknowledged.
      r.disconnect();
      await loop;
    },
  };
}

/** Acknowledged INCRs missing on the serving cache: the RPO the write load measures. */
async function lost(url: string, key: string, acknowledged: number): Promise<number> {
  const value = Number((await connect(url).get(key)) ?? '0');
  return Math.max(0, acknowledged - value);
}

beforeAll(async () => {
  lab = await startLab();
  sim = await startAzureCacheSimulator({
    primary: { ...P, url: lab.redis.primary.url },
    secondary: { ...S, url: lab.redis.secondary.url },
    operationDelayMs: 100,
  });
});

afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
  await closeAll();
  await sim?.stop();
  await stopLabs();
});

describe('what Azure refuses is refused before any call', () => {
  test('the card shows roles and link state, the rights it proved and what it cannot do', async () => {
    const r = await driver().readiness('secondary');
    expect(r.status).toBe('ready');
    expect(r.summary).toContain('secondary lab-cache-neu: Premium Succeeded, geo-secondary');
    expect(r.summary).toContain('link Succeeded; lag');
    const w = r.warnings!.join('\n');
    expect(w).toMatch(/LinkedServer create and delete cannot be dry-run/);
    expect(w).toMatch(/no geo-failover call/);
    expect(w).toMatch(/CLIENT PAUSE WRITE.*zero loss/);
    expect(w).toMatch(/failback relinks lab-cache-weu .*FLUSHES it/);
  });

  test('a cache that is not running: blocked on the card, nothing unlinked', async () => {
    sim.setCache(S.name, { provisioningState: 'Scaling' });
    try {
      const d = driver();
      const r = await d.readiness('secondary');
      expect(r.status).toBe('blocked');
      expect(r.summary).toMatch(/lab-cache-neu is Scaling, not Succeeded/);
      await expect(d.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
        PreconditionFailed,
      );
      expect(sim.linkRequests('DELETE')).toHaveLength(0);
    } finally {
      sim.setCache(S.name, { provisioningState: 'Succeeded' });
    }
    expect(await role(lab.redis.secondary.url)).toBe('slave');
  });

  test('the simulator refuses what Azure refuses: a second link, a Standard cache', async () => {
    const client = new RedisManagementClient(staticToken(sim.token), sim.subscriptionId, {
      endpoint: sim.url,
      $host: sim.url,
      tlsOptions: { ca: sim.ca },
    } as object);
    const body = {
      linkedRedisCacheId: `/subscriptions/${sim.subscriptionId}/resourceGroups/${S.resourceGroup}/providers/Microsoft.Cache/Redis/${S.name}`,
      linkedRedisCacheLocation: S.location,
      serverRole: 'Secondary' as const,
    };
    await expect(
      client.linkedServer.beginCreateAndWait(P.resourceGroup, P.name, S.name, body),
    ).rejects.toMatchObject({ statusCode: 409, code: 'Conflict' });
    expect(sim.link()).toMatchObject({ primary: P.name, provisioningState: 'Succeeded' });
    sim.setCache(S.name, { sku: 'Standard' });
    try {
      const r = await driver().readiness('secondary');
      expect(r.status).toBe('blocked');
      expect(r.summary).toMatch(/Premium only/);
    } finally {
      sim.setCache(S.name, { sku: 'Premium' });
    }
  });
});

describe('failover and failback on the real pair', () => {
  test('planned: writes paused until lag 0, then the unlink; no acknowledged INCR lost', async () => {
    const d = driver();
    const w = startWriter(lab.redis.primary.url, 'orders:planned');
    await until('some writes', async () => w.acknowledged() > 50);
    const res = await d.promote({ target: 'secondary', mode: 'planned', progress });
    await w.stop();
    expect(res.rpo.bytes).toBe(0);
    expect(res.evidence).toMatchObject({ paused: true, method: 'LinkedServer delete' });
    expect(sim.linkRequests('DELETE').at(-1)!.path).toMatch(
      /redis\/lab-cache-neu\/linkedServers\/lab-cache-weu$/i,
    );
    expect(sim.link()).toBeNull();
    expect(await role(lab.redis.secondary.url)).toBe('master');
    expect(await d.isWriter('secondary')).toBe(true);
    expect(await lost(lab.redis.secondary.url, 'orders:planned', w.acknowledged())).toBe(0);
  });

  test('failback: the card names the flush and its key count before the relink flushes it', async () => {
    const d = driver();
    // What the old primary holds now and will lose: a write that landed after the switch.
    await connect(lab.redis.primary.url).call('CLIENT', 'UNPAUSE');
    await connect(lab.redis.primary.url).set('stale:after-switch', 'x');
    const keys = await connect(lab.redis.primary.url).dbsize();
    const card = await d.readiness('primary');
    expect(card.status).toBe('warning');
    expect(card.summary).toContain(
      `linking FLUSHES lab-cache-weu: it becomes the geo-secondary of lab-cache-neu and its ${keys} keys are deleted`,
    );
    expect(sim.linkRequests('PUT')).toHaveLength(1); // only the refused one above
    const res = await d.resync({ standby: 'primary', progress });
    expect(res.evidence).toMatchObject({ flushedKeys: keys });
    expect(sim.link()).toMatchObject({ primary: S.name, secondary: P.name });
    expect(await connect(lab.redis.primary.url).exists('stale:after-switch')).toBe(0);
    expect(await role(lab.redis.primary.url)).toBe('slave');
    const { checks } = await d.consistency({ writer: 'secondary', progress });
    expect(checks.every((c) => c.ok)).toBe(true);
    const w = startWriter(lab.redis.secondary.url, 'orders:failback');
    await until('some writes', async () => w.acknowledged() > 50);
    const back = await d.promote({ target: 'primary', mode: 'planned', progress });
    await w.stop();
    expect(back.rpo.bytes).toBe(0);
    expect(await role(lab.redis.primary.url)).toBe('master');
    expect(await lost(lab.redis.primary.url, 'orders:failback', w.acknowledged())).toBe(0);
    // Demote the secondary: linked again as geo-secondary, from the primary this time.
    await d.resync({ standby: 'secondary', progress });
    expect(sim.link()).toMatchObject({ primary: P.name, secondary: S.name });
    expect(await d.isStreamingStandby('secondary')).toBe(true);
  });

  test('unplanned with a lagging secondary: the card and the RPO give the lag, the INCRs confirm it', async () => {
    const primary = connect(lab.redis.primary.url);
    await primary.set('orders:unplanned', '0');
    await until(
      'the secondary to have it',
      async () => (await connect(lab.redis.secondary.url).get('orders:unplanned')) === '0',
    );
    // Cut replication: the primary now wants a password the secondary does not have.
    await primary.config('SET', 'requirepass', 'held');
    await primary.call('CLIENT', 'KILL', 'TYPE', 'replica');
    const heldUrl = `redis://:held@127.0.0.1:${lab.redis.primary.port}`;
    const held = connect(heldUrl);
    let acknowledged = 0;
    for (let i = 0; i < 20; i++) acknowledged = await held.incr('orders:unplanned');
    const d = driver({ pauseWrites: false, primaryUrl: heldUrl });
    const card = await d.readiness('secondary');
    expect(card.status).toBe('warning');
    expect(card.expectedLoss?.description).toMatch(/unlink may lose up to the measured lag/);
    expect(card.expectedLoss?.bytes).toBeGreaterThan(0);
    const res = await d.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(res.rpo.bytes).toBeGreaterThan(0);
    expect(await role(lab.redis.secondary.url)).toBe('master');
    expect(await lost(lab.redis.secondary.url, 'orders:unplanned', acknowledged)).toBe(20);
    await held.config('SET', 'requirepass', '');
    await d.resync({ standby: 'primary', progress });
    expect(await role(lab.redis.primary.url)).toBe('slave');
  });
});
