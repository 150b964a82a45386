/**
 * The azure-flexible driver through the real @azure/arm-postgresql-flexible against the flexible
 * server simulator in front of a real lab primary and standby: the refusals Azure makes (and the
 * driver makes first, before any fence), a planned switchover with zero acknowledged writes lost
 * and back, a forced switchover with the primary region down (the loss shown first and real, the
 * old primary rejoining as a replica once back), and a standalone promotion whose failback is a
 * rebuild: a new read replica.
 */
import {
  PostgreSQLManagementFlexibleServerClient,
  type ServerForPatch,
} from '@azure/arm-postgresql-flexible';
import type { TokenCredential } from '@azure/identity';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUp, type LabInfo } from '../../src/lab/index.js';
import { labOutage, labRestore } from '../../src/lab/outage.js';
import {
  startAzureFlexibleSimulator,
  type AzureFlexibleSim,
} from '../../src/lab/simulators/azure-flexible.js';
import { createAzureFlexibleProvider } from '../../src/providers/postgres/azure-flexible.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import {
  countOrders as count,
  holdPostgresReplication,
  labPostgresOptions,
  orderWriteLoad as writeLoad,
  silentLog,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';

const SUB = '00000000-0000-4000-8000-00000000f1e1';
const WEU = { name: 'app-pg-weu', resourceGroup: 'rg-weu', location: 'westeurope' };
const NEU = { name: 'app-pg-neu', resourceGroup: 'rg-neu', location: 'northeurope' };
const progress = (): void => undefined;
let lab: LabInfo;
let sim: AzureFlexibleSim;
let credential: TokenCredential;
let client: PostgreSQLManagementFlexibleServerClient;
const providers: DatabaseProvider[] = [];

/** The driver against the simulator; `virtualEndpoint` undefined: standalone promotions. */
function provider(virtualEndpoint: string | undefined): DatabaseProvider {
  const db = createAzureFlexibleProvider(
    labPostgresOptions(lab.postgres.primary.url, lab.postgres.secondary.url, {
      catchUpTimeoutSeconds: 60,
      consistencyTables: ['public.orders'],
    }),
    {
      subscriptionId: SUB,
      primary: { serverName: WEU.name, resourceGroup: WEU.resourceGroup, location: WEU.location },
      secondary: { serverName: NEU.name, resourceGroup: NEU.resourceGroup, location: NEU.location },
      ...(virtualEndpoint ? { virtualEndpoint } : {}),
      endpoint: sim.url,
      promoteTimeoutSeconds: 60,
      rebuildTimeoutMinutes: 5,
      pollIntervalMs: 100,
      credential,
      ca: sim.ca,
      log: silentLog,
    },
  );
  providers.push(db);
  return db;
}
let db: DatabaseProvider;

beforeAll(async () => {
  lab = await startLab();
  sim = await startAzureFlexibleSimulator({
    labDir: lab.dir,
    subscriptionId: SUB,
    primary: { ...WEU, server: 'primary' },
    secondary: { ...NEU, server: 'secondary' },
    virtualEndpoint: 'app-pg',
    operationDelayMs: 50,
  });
  credential = {
    getToken: async () => ({ token: sim.token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  client = new PostgreSQLManagementFlexibleServerClient(credential, SUB, {
    endpoint: sim.url,
    $host: sim.url,
    tlsOptions: { ca: sim.ca },
  });
  db = provider('app-pg');
  await sql(lab.postgres.primary.url, 'CREATE TABLE orders (id serial PRIMARY KEY, note text)');
}, 120_000);

afterAll(async () => {
  for (const p of providers) await p.close();
  await sim?.stop();
  await stopLabs();
});

const VE = { name: 'app-pg', on: WEU.name, members: [NEU.name] };

test('the simulator refuses what Azure refuses: promoting a primary, a bad promoteMode, no virtual endpoint', async () => {
  const promote = (name: string, replica: NonNullable<ServerForPatch['replica']>) =>
    client.servers.beginUpdateAndWait(
      name === WEU.name ? WEU.resourceGroup : NEU.resourceGroup,
      name,
      { replica },
    );
  await expect(
    promote(WEU.name, { promoteMode: 'switchover', promoteOption: 'planned' }),
  ).rejects.toMatchObject({ statusCode: 400, code: 'ServerIsNotReplica' });
  await expect(
    promote(NEU.name, { promoteMode: 'failover', promoteOption: 'planned' }),
  ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidParameterValue' });
  sim.setVirtualEndpoint(null);
  await expect(
    promote(NEU.name, { promoteMode: 'switchover', promoteOption: 'planned' }),
  ).rejects.toMatchObject({ statusCode: 400, code: 'VirtualEndpointRequired' });
  sim.setVirtualEndpoint({ ...VE, members: [] });
  await expect(
    promote(NEU.name, { promoteMode: 'switchover', promoteOption: 'planned' }),
  ).rejects.toMatchObject({ statusCode: 400, code: 'VirtualEndpointRequired' });
  sim.setVirtualEndpoint(VE);
  expect(sim.server(NEU.name)).toMatchObject({
    role: 'GeoAsyncReplica',
    replicationState: 'Active',
  });
});

test.each([
  ['a replica still Updating', { state: 'Updating' }, /is Updating, not Ready/],
  ['broken replication', { replicationState: 'Broken' }, /replication is Broken/],
  [
    'another compute tier',
    { sku: { name: 'Standard_B2s', tier: 'Burstable' } },
    /same compute tier and storage/,
  ],
  ['a smaller disk', { storageSizeGB: 64 }, /same compute tier and storage/],
  ['no virtual endpoint', null, /virtual endpoint app-pg is not on app-pg-weu/],
  ['a reader endpoint on another server', [], /reader endpoint of app-pg points at the primary/],
])('the driver refuses %s before any fence', async (_what, lever, message) => {
  const original = sim.server(NEU.name)!;
  if (lever === null) sim.setVirtualEndpoint(null);
  else if (Array.isArray(lever)) sim.setVirtualEndpoint({ ...VE, members: lever });
  else sim.setServer(NEU.name, lever);
  try {
    const ready = await db.readiness('secondary');
    expect(ready.status).toBe('blocked');
    expect(ready.summary).toMatch(message);
    const patches = sim.requests.filter((r) => r.method === 'PATCH').length;
    await expect(db.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
      /Nothing was changed/,
    );
    // Refused before the fence: the primary still takes writes, and Azure was asked nothing.
    await sql(lab.postgres.primary.url, "INSERT INTO orders(note) VALUES ('after refusal')");
    expect(sim.requests.filter((r) => r.method === 'PATCH')).toHaveLength(patches);
  } finally {
    sim.setServer(NEU.name, original);
    sim.setVirtualEndpoint(VE);
  }
});

test('planned failover is a switchover: fence, catch up, roles swap; 0 acknowledged writes lost', async () => {
  const ready = await db.readiness('secondary');
  expect(ready.status).not.toBe('blocked');
  expect(ready.planFacts).toMatchObject({ azureServer: NEU.name, promoteMode: 'switchover' });
  // The normal case is said, not warned: the readiness monitor stays green.
  expect(ready.summary).toMatch(/failback is a switchover back.*cannot be dry-run/);
  expect(ready.warnings ?? []).toEqual([]);
  const load = writeLoad(lab.postgres.primary.url);
  await until('some writes', async () => (await count(lab.postgres.primary.url)) > 20);
  const result = await db.promote({ target: 'secondary', mode: 'planned', progress });
  const acked = await load.stop();
  expect(result.rpo.bytes).toBe(0);
  expect(result.evidence).toMatchObject({ promoteMode: 'switchover', promoteOption: 'planned' });
  const patch = sim.requests.filter((r) => r.method === 'PATCH').at(-1)!;
  expect(JSON.parse(patch.body)).toEqual({
    properties: { replica: { promoteMode: 'switchover', promoteOption: 'planned' } },
  });
  expect(await db.isWriter('secondary')).toBe(true);
  // Azure made the old primary the replica, and moved the reader endpoint to it.
  expect(sim.server(WEU.name)).toMatchObject({ role: 'GeoAsyncReplica', source: NEU.name });
  expect(sim.virtualEndpoint()).toMatchObject({ on: NEU.name, members: [WEU.name] });
  expect(await db.isStreamingStandby('primary')).toBe(true);
  expect(await count(lab.postgres.secondary.url)).toBeGreaterThanOrEqual(acked + 1);
  // Failback needs no rebuild: the old primary already replicates; a planned switchover back.
  expect((await db.resync({ standby: 'primary', progress })).noop).toBe(true);
  await sql(lab.postgres.secondary.url, "INSERT INTO orders(note) VALUES ('written in secondary')");
  const back = await db.promote({ target: 'primary', mode: 'planned', progress });
  expect(back.rpo.bytes).toBe(0);
  const rows = await sql(
    lab.postgres.primary.url,
    "SELECT 1 FROM orders WHERE note = 'written in secondary'",
  );
  expect(rows).toHaveLength(1);
  expect(sim.server(NEU.name)).toMatchObject({
    role: 'GeoAsyncReplica',
    replicationState: 'Active',
  });
}, 180_000);

test('unplanned with the primary region down: the loss is shown first and real; the old primary rejoins once back', async () => {
  const primaryUrl = lab.postgres.primary.url;
  const secondaryUrl = lab.postgres.secondary.url;
  await until(
    'the replica to catch up',
    async () => (await count(secondaryUrl)) === (await count(primaryUrl)),
  );
  await holdPostgresReplication(lab);
  for (let i = 0; i < 20; i++) await sql(primaryUrl, "INSERT INTO orders(note) VALUES ('lost')");
  const before = await count(primaryUrl);
  expect((await labOutage({ dir: lab.dir })).postgres.stopped).toBe(true);

  const ready = await db.readiness('secondary');
  expect(ready.primaryReachable).toBe(false);
  expect(ready.expectedLoss?.description).toBeTruthy();
  const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });
  expect(result.evidence).toMatchObject({ promoteMode: 'switchover', promoteOption: 'forced' });
  expect(await db.isWriter('secondary')).toBe(true);
  expect(await count(secondaryUrl)).toBe(before - 20);
  // Azure waits for the old primary's region to reconfigure it as the replica.
  expect(sim.server(WEU.name)).toMatchObject({
    role: 'GeoAsyncReplica',
    replicationState: 'Reconfiguring',
  });

  const rejoined = db.resync({ standby: 'primary', progress });
  await labRestore({ dir: lab.dir });
  const r = await rejoined;
  expect(r).toMatchObject({ noop: false, evidence: { rebuilt: false } });
  expect(await db.isStreamingStandby('primary')).toBe(true);
  // The commits the replica never received are gone from the rejoined server too.
  expect(await count(primaryUrl)).toBe(before - 20);
}, 180_000);

test('without virtual endpoints a promotion is standalone: failback is a new read replica', async () => {
  const standalone = provider(undefined);
  const ready = await standalone.readiness('primary');
  expect(ready.planFacts).toMatchObject({ promoteMode: 'standalone' });
  expect(ready.warnings?.join(' ')).toMatch(/Failback is a rebuild/);
  const over = await standalone.promote({ target: 'primary', mode: 'planned', progress });
  expect(over.rpo.bytes).toBe(0);
  expect(over.evidence).toMatchObject({ promoteMode: 'standalone', promoteOption: 'planned' });
  expect(sim.server(WEU.name)).toMatchObject({ role: 'Primary', source: null });
  // The old primary stays a separate server: Azure cannot reuse its name while it exists.
  expect(sim.server(NEU.name)).toMatchObject({ role: 'Primary', source: null });
  await expect(standalone.resync({ standby: 'secondary', progress })).rejects.toThrow(
    /app-pg-neu is a standalone server.*delete it, then retry.*Nothing was changed/,
  );
  // The operator deletes it; the failback creates the replica under the same name.
  await client.servers.beginDeleteAndWait(NEU.resourceGroup, NEU.name, { updateIntervalInMs: 50 });
  const rebuilt = await standalone.resync({ standby: 'secondary', progress });
  expect(rebuilt).toMatchObject({ noop: false, evidence: { rebuilt: true, replica: NEU.name } });
  const created = sim.requests.filter((r) => r.method === 'PUT').at(-1)!;
  expect(JSON.parse(created.body)).toMatchObject({
    location: 'northeurope',
    properties: {
      createMode: 'Replica',
      sourceServerResourceId: `/subscriptions/${SUB}/resourceGroups/rg-weu/providers/Microsoft.DBforPostgreSQL/flexibleServers/app-pg-weu`,
    },
  });
  expect(sim.server(NEU.name)).toMatchObject({
    role: 'GeoAsyncReplica',
    replicationState: 'Active',
  });
  expect(await standalone.isStreamingStandby('secondary')).toBe(true);
  expect((await standalone.readiness('secondary')).warnings?.join(' ')).toMatch(
    /last rebuild took/,
  );
}, 180_000);

test('labUp with azure-flexible on the AWS cloud is refused before anything starts', async () => {
  const dir = join(tmpdir(), `dr-lab-azure-flexible-aws-${process.pid}`);
  await expect(labUp({ dir, postgres: 'azure-flexible' })).rejects.toThrow(
    '--postgres azure-flexible signs in with the lab Entra ID of the Azure cloud: add --cloud azure.',
  );
  expect(existsSync(dir)).toBe(false);
});
