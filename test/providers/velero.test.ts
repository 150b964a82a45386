/**
 * The newest completed Velero backup, read through the real @kubernetes/client-node from the
 * Kubernetes simulator's velero.io/v1 Backup list: young, too old, none, and only failed ones.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubernetesSimulator, type KubernetesSim } from '../../src/lab/simulators/index.js';
import { createVeleroReader, type VeleroReader } from '../../src/providers/velero.js';
import { PreconditionFailed, ProviderError } from '../../src/errors.js';

const HOUR = 3_600_000;
let dir: string;
let sim: KubernetesSim;
let kubeconfig: string;
const ago = (hours: number): Date => new Date(Date.now() - hours * HOUR);

function reader(opts: { namespace?: string; context?: string } = {}): VeleroReader {
  return createVeleroReader({
    cluster: { kubeconfig, context: opts.context ?? 'standby' },
    namespace: opts.namespace ?? 'velero',
    maxAgeHours: 24,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-velero-'));
  sim = await startKubernetesSimulator({ token: 'tok', contextName: 'standby' });
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sim.kubeconfig());
});
afterAll(async () => {
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the newest completed backup younger than a day is ok; newer failed or running ones do not count', async () => {
  sim.setVeleroBackups([
    { name: 'daily-20261120', phase: 'Completed', completedAt: ago(30) },
    { name: 'daily-20261121', phase: 'Completed', completedAt: ago(5) },
    { name: 'daily-20261122', phase: 'PartiallyFailed', completedAt: ago(1) },
    { name: 'daily-20261123', phase: 'InProgress' },
    { name: 'other-ns', namespace: 'backup-tools', phase: 'Completed', completedAt: ago(0.5) },
  ]);
  const r = await reader().checkNewestBackup();
  expect(r.ok).toBe(true);
  expect(r.ageHours).toBeCloseTo(5, 0);
  expect(r.detail).toMatch(
    /^newest completed backup daily-20261121 finished 5(\.\d)? h ago .*; limit 24 h$/,
  );
  expect(r.evidence).toMatchObject({ backups: 4, completed: 2, newest: 'daily-20261121' });
  expect(sim.requests.some((q) => q.path === '/apis/velero.io/v1/namespaces/velero/backups')).toBe(
    true,
  );
});

test('a newest completed backup older than a day is not ok and says where to look', async () => {
  sim.setVeleroBackups([{ name: 'daily-old', phase: 'Completed', completedAt: ago(30) }]);
  const r = await reader().checkNewestBackup();
  expect(r.ok).toBe(false);
  expect(r.detail).toMatch(
    /daily-old finished 30 h ago .*older than 24 h: check the Velero schedule/,
  );
});

test('no completed backup at all is not ok', async () => {
  sim.setVeleroBackups([{ name: 'broken', phase: 'Failed', completedAt: ago(2) }]);
  const r = await reader().checkNewestBackup();
  expect(r.ok).toBe(false);
  expect(r.ageHours).toBeNull();
  expect(r.detail).toMatch(
    /no completed Velero backup in namespace velero of the secondary cluster \(1 backups, phases: Failed\)/,
  );
  sim.setVeleroBackups([]);
  expect((await reader().checkNewestBackup()).detail).toMatch(
    /^no completed Velero backup in namespace velero of the secondary cluster: check the Velero schedule/,
  );
});

test('errors say what to fix: a missing context, a forbidden list', async () => {
  await expect(reader({ context: 'nope' }).checkNewestBackup()).rejects.toThrow(PreconditionFailed);
  sim.failNext(
    403,
    'Forbidden',
    'backups.velero.io is forbidden: User "dr-bot" cannot list resource "backups"',
  );
  const err = await reader()
    .checkNewestBackup()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code).toBe('forbidden');
  expect((err as Error).message).toMatch(
    /listing Velero backups in velero: forbidden. Give the bot's service account list on backups.velero.io in namespace velero/,
  );
});
