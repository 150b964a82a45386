/**
 * The cloudnative-pg driver through the real @kubernetes/client-node against two Kubernetes
 * simulators serving CloudNativePG Clusters, their operator acting on a real lab pair: what
 * CloudNativePG's webhook and instance manager refuse, and what the driver refuses before any
 * change. The whole failover cycle runs through Slack in test/e2e/cloudnative-pg-slack-lab.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { LabInfo } from '../../src/lab/index.js';
import { installCnpg, type CnpgOperator } from '../../src/lab/simulators/cnpg-controller.js';
import { encodeToken } from '../../src/lab/simulators/cnpg.js';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/kubernetes.js';
import { createCloudNativePgProvider } from '../../src/providers/postgres/cloudnative-pg.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import { labPostgresOptions, sql, startLab, stopLabs, until } from '../support/lab.js';

const NS = 'db';
const NAMES = { primary: 'pg-a', secondary: 'pg-b' };
const progress = (): void => undefined;
let lab: LabInfo;
let k8s: { primary: KubernetesSim; secondary: KubernetesSim };
let op: CnpgOperator;
let db: DatabaseProvider;
let kubeconfig: string;

/** The driver on the lab's pair; `at`: another kubeconfig and contexts (a cluster without CNPG, an old operator). */
function provider(
  at: { file: string; contexts: [string, string]; operationTimeoutSeconds: number } = {
    file: kubeconfig,
    contexts: ['cnpg-p', 'cnpg-s'],
    operationTimeoutSeconds: 20,
  },
): DatabaseProvider {
  return createCloudNativePgProvider(
    labPostgresOptions(lab.postgres.primary.url, lab.postgres.secondary.url),
    {
      primary: { kubeconfig: at.file, context: at.contexts[0], namespace: NS, name: NAMES.primary },
      secondary: {
        kubeconfig: at.file,
        context: at.contexts[1],
        namespace: NS,
        name: NAMES.secondary,
      },
      operationTimeoutSeconds: at.operationTimeoutSeconds,
      pollMs: 50,
    },
  );
}

beforeAll(async () => {
  lab = await startLab();
  const start = (name: string) =>
    startKubernetesSimulator({ token: `${name}-token`, contextName: name, rbac: 'dr-bot' });
  k8s = { primary: await start('cnpg-p'), secondary: await start('cnpg-s') };
  kubeconfig = join(lab.dir, 'cnpg-kubeconfig.yaml');
  await writeFile(
    kubeconfig,
    kubeconfigFor(
      (['primary', 'secondary'] as const).map((s) => ({
        name: k8s[s].contextName,
        url: k8s[s].url,
        token: k8s[s].token,
      })),
    ),
  );
  op = installCnpg(k8s, { labDir: lab.dir, namespace: NS, names: NAMES, intervalMs: 100 });
  db = provider();
}, 120_000);

afterAll(async () => {
  await db?.close();
  await op?.stop();
  await Promise.all([k8s?.primary.stop(), k8s?.secondary.stop()]);
  await stopLabs();
});

/** A client of one side's simulator, as an operator's kubectl would be. */
function objects(side: 'primary' | 'secondary'): CustomObjectsApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(k8s[side].contextName);
  return kc.makeApiClient(CustomObjectsApi);
}

const patch = (side: 'primary' | 'secondary', replica: Record<string, unknown>) =>
  objects(side).patchNamespacedCustomObject(
    {
      group: 'postgresql.cnpg.io',
      version: 'v1',
      namespace: NS,
      plural: 'clusters',
      name: NAMES[side],
      body: { spec: { replica } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

const inRecovery = async (side: 'primary' | 'secondary'): Promise<boolean> =>
  ((await sql(lab.postgres[side].url, 'SELECT pg_is_in_recovery() AS r'))[0] as { r: boolean }).r;

/** Nothing changed: the primary still writes, the standby still replays. */
async function expectUnchanged(): Promise<void> {
  expect(await inRecovery('primary')).toBe(false);
  expect(await inRecovery('secondary')).toBe(true);
  expect(op.clusters.primary.spec.replica?.primary).toBe(NAMES.primary);
  expect(op.clusters.secondary.spec.replica?.primary).toBe(NAMES.primary);
}

test('readiness: roles from the Cluster status, rights asked by SelfSubjectAccessReview', async () => {
  await op.settle();
  const r = await db.readiness('secondary');
  expect(r.status).not.toBe('blocked');
  expect(r.details.cnpgTarget).toBe(
    `Cluster ${NS}/${NAMES.secondary}: replica, Cluster in healthy state`,
  );
  expect(r.details.cnpgOther).toBe(
    `Cluster ${NS}/${NAMES.primary}: primary, Cluster in healthy state`,
  );
  const asked = k8s.secondary.requests.filter((q) => q.path.endsWith('selfsubjectaccessreviews'));
  expect(asked.map((q) => JSON.parse(q.body).spec.resourceAttributes.resource)).toEqual(
    expect.arrayContaining(['clusters', 'customresourcedefinitions']),
  );

  k8s.primary.revoke('patch', 'clusters');
  try {
    const blocked = await db.readiness('secondary');
    expect(blocked.status).toBe('blocked');
    expect(blocked.summary).toMatch(
      /primary: may not patch clusters\.postgresql\.cnpg\.io in namespace db.*dr-bot-cloudnative-pg/,
    );
  } finally {
    k8s.primary.restoreRbac();
  }
}, 30_000);

test("the webhook refuses what CloudNativePG's refuses; CRDs take no strategic merge patch", async () => {
  await expect(patch('primary', { primary: 'elsewhere' })).rejects.toMatchObject({
    code: 422,
    body: expect.stringMatching(
      /spec\.replicaCluster\.primary: Invalid value: \\"elsewhere\\": External cluster elsewhere not found/,
    ),
  });
  await expect(patch('secondary', { enabled: false })).rejects.toMatchObject({
    code: 422,
    body: expect.stringMatching(/replica mode enabled is not compatible with the primary field/),
  });
  // A replica may hold no promotion token (validatePromotionToken).
  await expect(
    patch('primary', { primary: NAMES.secondary, promotionToken: 'x' }),
  ).rejects.toMatchObject({
    code: 422,
    body: expect.stringMatching(/promotionToken is only allowed for primary clusters/),
  });
  await expect(
    patch('secondary', { primary: NAMES.secondary, promotionToken: 'bm90IGpzb24=' }),
  ).rejects.toMatchObject({
    code: 422,
    body: expect.stringMatching(/Invalid promotionToken format/),
  });
  const strategic = objects('primary').patchNamespacedCustomObject(
    {
      group: 'postgresql.cnpg.io',
      version: 'v1',
      namespace: NS,
      plural: 'clusters',
      name: NAMES.primary,
      body: { spec: {} },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  await expect(strategic).rejects.toMatchObject({ code: 415 });
  await expectUnchanged();
});

test('the driver refuses a target CloudNativePG would not promote, before any change', async () => {
  const t = op.clusters.secondary;
  const refuse = async (pattern: RegExp, mode: 'planned' | 'unplanned' = 'planned') => {
    expect((await db.readiness('secondary')).summary).toMatch(pattern);
    await expect(db.promote({ target: 'secondary', mode, progress })).rejects.toThrow(pattern);
    await expectUnchanged();
  };
  const saved = structuredClone(t.spec);
  try {
    t.spec.externalClusters = t.spec.externalClusters!.filter((e) => e.name !== NAMES.primary);
    await refuse(/no externalClusters entry named pg-a/);
    t.spec = structuredClone(saved);
    delete t.spec.replica!.source;
    await refuse(/no spec\.replica\.source/);
    t.spec = structuredClone(saved);
    t.spec.replica!.promotionToken = 'pending';
    await refuse(/promotion pending/);
    t.spec = structuredClone(saved);
    t.status.phase = 'Upgrading cluster';
    t.awaitingPromotion = true; // the controller leaves the phase as it is
    await refuse(/phase "Upgrading cluster"/, 'unplanned');
  } finally {
    t.spec = saved;
    t.awaitingPromotion = false;
    t.status.phase = 'Cluster in healthy state';
  }
  // A standalone replica cluster (enabled: true, no primary) has no controlled switchover.
  t.spec = { ...structuredClone(saved), replica: { enabled: true, source: NAMES.primary } };
  try {
    await expect(db.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
      /standalone replica cluster.*Nothing was changed/,
    );
  } finally {
    t.spec = saved;
  }
  await expectUnchanged();
});

test('failback refuses to resync a Cluster that cannot follow: it must be re-cloned, nothing is deleted', async () => {
  // The primary Cluster is no replica: nothing makes it follow the other side.
  await expect(db.resync({ standby: 'primary', progress })).rejects.toThrow(
    /Cluster db\/pg-a cannot follow pg-b\..*must be re-cloned.*Nothing was changed/,
  );
  await expectUnchanged();
});

test('a Kubernetes cluster without CloudNativePG is named as such, before any change', async () => {
  const bare = await startKubernetesSimulator({ token: 'bare', contextName: 'bare' });
  const file = join(lab.dir, 'bare-kubeconfig.yaml');
  await writeFile(
    file,
    kubeconfigFor([
      { name: 'bare', url: bare.url, token: bare.token },
      { name: 'cnpg-p', url: k8s.primary.url, token: k8s.primary.token },
    ]),
  );
  const bareDb = provider({ file, contexts: ['cnpg-p', 'bare'], operationTimeoutSeconds: 5 });
  try {
    const r = await bareDb.readiness('secondary');
    expect(r.status).toBe('blocked');
    expect(r.summary).toMatch(/CloudNativePG is not installed in the secondary Kubernetes cluster/);
    await expect(
      bareDb.promote({ target: 'secondary', mode: 'planned', progress }),
    ).rejects.toThrow(
      /cloudnative-pg \(secondary\): reading Cluster db\/pg-b: not found\. Check components\.postgres\.cloudnativePg\.secondary/,
    );
  } finally {
    await bareDb.close();
    await bare.stop();
  }
  await expectUnchanged();
});

test('an operator older than 1.24 is refused: its CRD has no replica.primary', async () => {
  const old = {
    primary: await startKubernetesSimulator({ token: 'o', contextName: 'old-p' }),
    secondary: await startKubernetesSimulator({ token: 'o2', contextName: 'old-s' }),
  };
  const oldOp = installCnpg(old, {
    labDir: lab.dir,
    namespace: NS,
    names: NAMES,
    version: '1.23.4',
    intervalMs: 60_000,
  });
  const file = join(lab.dir, 'old-kubeconfig.yaml');
  await writeFile(
    file,
    kubeconfigFor(
      (['primary', 'secondary'] as const).map((s) => ({
        name: old[s].contextName,
        url: old[s].url,
        token: old[s].token,
      })),
    ),
  );
  const oldDb = provider({ file, contexts: ['old-p', 'old-s'], operationTimeoutSeconds: 5 });
  try {
    await expect(oldDb.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
      /version 1\.23\.4.*needs CloudNativePG 1\.24 or later.*Nothing was changed/,
    );
    expect((await oldDb.readiness('secondary')).status).toBe('blocked');
  } finally {
    await oldDb.close();
    await oldOp.stop();
    await Promise.all([old.primary.stop(), old.secondary.stop()]);
  }
  await expectUnchanged();
}, 30_000);

test('the operator refuses a promotion token of another database: phase unrecoverable, nothing promoted', async () => {
  const forged = encodeToken({
    latestCheckpointTimelineID: '1',
    redoWalFile: '000000010000000000000001',
    databaseSystemIdentifier: '1234567890123456789',
    latestCheckpointREDOLocation: '0/1000028',
    timeOfLatestCheckpoint: 'Mon Dec  7 12:00:00 2026',
    operatorVersion: '1.25.1',
  });
  // Promote the replica with a token that is not its primary's (a person's slip).
  try {
    await patch('secondary', { primary: NAMES.secondary, promotionToken: forged });
    await until(
      'the instance manager to reject the token',
      async () =>
        op.clusters.secondary.status.phase ===
        'Cluster is unrecoverable and needs manual intervention',
    );
    expect(op.clusters.secondary.status.phaseReason).toMatch(/mismatching system identifiers/);
    expect(await inRecovery('secondary')).toBe(true);
  } finally {
    op.clusters.secondary.spec.replica = { primary: NAMES.primary, source: NAMES.primary };
    op.clusters.secondary.status.phase = 'Cluster in healthy state';
    delete op.clusters.secondary.status.phaseReason;
  }
  await expectUnchanged();
});
