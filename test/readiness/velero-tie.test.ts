/**
 * The Velero row tied to the cluster it protects, through the real @kubernetes/client-node against
 * two Kubernetes simulators (primary and secondary, each with Velero's Backup and
 * BackupStorageLocation resources): each red case is a state a user can set on the lab's clusters.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/index.js';
import { createVeleroReader } from '../../src/providers/velero.js';
import { veleroCheck, type ReadinessCheck } from '../../src/readiness/index.js';

const HOUR = 3_600_000;
const ago = (h: number): Date => new Date(Date.now() - h * HOUR);
let dir: string;
let primary: KubernetesSim;
let secondary: KubernetesSim;
let kubeconfig: string;

function check(opts: { schedules?: string[] } = {}): ReadinessCheck {
  const reader = (region: 'primary' | 'secondary') =>
    createVeleroReader({
      cluster: { kubeconfig, context: region },
      region,
      namespace: 'velero',
      maxAgeHours: 24,
    });
  return veleroCheck({
    primary: reader('primary'),
    secondary: reader('secondary'),
    storageLocation: 'default',
    secondaryStorageLocation: 'default',
    schedules: opts.schedules ?? ['nightly', 'hourly'],
    maxAgeHours: 24,
    maxSyncAgeMinutes: 10,
  });
}

const GOOD = [
  { name: 'nightly-2', phase: 'Completed' as const, completedAt: ago(3), schedule: 'nightly' },
  { name: 'hourly-9', phase: 'Completed' as const, completedAt: ago(0.5), schedule: 'hourly' },
];
const location = (over: Record<string, unknown> = {}) => [
  { name: 'default', phase: 'Available' as const, bucket: 'velero-eu', ...over },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-velero-tie-'));
  primary = await startKubernetesSimulator({ token: 'p', contextName: 'primary' });
  secondary = await startKubernetesSimulator({ token: 's', contextName: 'secondary' });
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigFor([
      { name: 'primary', url: primary.url, token: 'p' },
      { name: 'secondary', url: secondary.url, token: 's' },
    ]),
  );
});

beforeEach(() => {
  primary.setVeleroBackups(GOOD);
  secondary.setVeleroBackups(GOOD);
  primary.setVeleroLocations(location());
  secondary.setVeleroLocations(location({ accessMode: 'ReadOnly' }));
});

afterAll(async () => {
  await primary.stop();
  await secondary.stop();
  await rm(dir, { recursive: true, force: true });
});

test('each schedule backed up lately in the primary, seen by the secondary: ok, the oldest one as the age', async () => {
  const f = await check().run();
  expect(f.status).toBe('ok');
  expect(f.measured).toBe('3 h old; secondary location Available');
  expect(f.evidence).toMatchObject({
    newest: 'nightly-2',
    schedules: { 'schedule nightly': 'nightly-2', 'schedule hourly': 'hourly-9' },
    secondaryLocation: { phase: 'Available', accessMode: 'ReadOnly', bucket: 'velero-eu' },
  });
  // Read from the primary: the backups listed there, the locations from both.
  expect(primary.requests.some((r) => r.path.endsWith('/backups'))).toBe(true);
});

test('a PartiallyFailed newest backup counts as failed: the schedule falls back to its last Completed one', async () => {
  const backups = [
    { name: 'nightly-1', phase: 'Completed' as const, completedAt: ago(30), schedule: 'nightly' },
    {
      name: 'nightly-2',
      phase: 'PartiallyFailed' as const,
      completedAt: ago(3),
      schedule: 'nightly',
    },
    GOOD[1]!,
  ];
  primary.setVeleroBackups(backups);
  secondary.setVeleroBackups(backups);
  const f = await check().run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toContain(
    'the newest completed backup of schedule nightly in location default of the primary cluster, nightly-1, finished 30 h ago',
  );
  expect(f.detail).toContain('1 newer failed (nightly-2 PartiallyFailed)');
});

test('a schedule with no backup, or backups in another location, is red', async () => {
  primary.setVeleroBackups([GOOD[0]!, { ...GOOD[1]!, storageLocation: 'elsewhere' }]);
  const f = await check().run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toMatch(/^no completed Velero backup of schedule hourly in location default/);
  expect(f.measured).toBe('none completed; secondary location Available');
});

test('the secondary not listing the newest backup is red: its location has not synced it', async () => {
  secondary.setVeleroBackups([GOOD[0]!]);
  const f = await check().run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toContain('the secondary cluster does not list hourly-9 (schedule hourly)');
});

test("the secondary's location unavailable, missing, on another bucket or not synced is red", async () => {
  const cases: [Record<string, unknown> | null, RegExp][] = [
    [{ phase: 'Unavailable' }, /secondary's BackupStorageLocation default is Unavailable/],
    [null, /the secondary cluster has no BackupStorageLocation default/],
    [{ bucket: 'velero-us' }, /reads velero-us\/, not the primary's velero-eu\//],
    [{ syncing: false, lastSyncedAt: ago(2) }, /last synced 2 h 0 min ago, over 10 min/],
    [{ syncing: false }, /has never synced/],
  ];
  for (const [over, message] of cases) {
    secondary.setVeleroLocations(over === null ? [] : location(over));
    const f = await check().run();
    expect(f.status).toBe('degraded');
    expect(f.detail).toMatch(message);
  }
});

test("the primary's location unavailable is red: no backup can be written", async () => {
  primary.setVeleroLocations(location({ phase: 'Unavailable' }));
  const f = await check({ schedules: [] }).run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toMatch(/the primary's BackupStorageLocation default is Unavailable/);
});
