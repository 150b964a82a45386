/**
 * components.postgres.driver and fence: streaming stays the default; rds-replica's block and the
 * fence method are checked with errors that name the key and say what to fix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, summarizeConfig } from '../../src/config/index.js';

const BASE = `environment: staging
regions:
  primary: { name: eu-west-1 }
  secondary: { name: eu-central-1 }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE]
components:
  postgres:
    primary: { url: "postgres://dr_bot@db1.internal:5432/app" }
    secondary: { url: "postgres://dr_bot@db2.internal:5432/app" }
`;
const RDS = `    rds:
      primary: { instanceIdentifier: app-db, region: eu-west-1 }
      secondary: { instanceIdentifier: app-db-replica, region: eu-central-1 }
      accountId: "123456789012"
`;
/** The fence RDS allows: ALTER ROLE on the application's roles. */
const ROLE_FENCE = `    fence: { method: role, roles: [app] }\n`;

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'dr-driver-test-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(extra: string): ReturnType<typeof loadConfig> {
  const path = join(dir, 'dr.config.yaml');
  writeFileSync(path, BASE + extra);
  return loadConfig({ path, env: {} });
}

it('defaults to the streaming driver, as before', () => {
  expect(load('').components.postgres?.driver).toBe('streaming');
});

it('accepts rds-replica with its instances', () => {
  const pg = load(`    driver: rds-replica\n${RDS}${ROLE_FENCE}`).components.postgres;
  expect(pg?.rds).toMatchObject({ accountId: '123456789012', rebuildTimeoutMinutes: 240 });
});

it('dr config check names the RDS instances after the servers', () => {
  const { lines } = summarizeConfig(load(`    driver: rds-replica\n${RDS}${ROLE_FENCE}`), {});
  expect(lines).toContain(
    '  postgres     primary postgres://db1.internal:5432/app, secondary postgres://db2.internal:5432/app; RDS app-db (eu-west-1), read replica app-db-replica (eu-central-1)',
  );
});

it.each([
  ['    driver: rds-replica\n', /components\.postgres\.rds.*driver rds-replica needs `rds`/],
  [RDS, /components\.postgres\.rds.*set driver: rds-replica or remove it/],
  ['    driver: aurora\n', /components\.postgres\.driver/],
  [
    `    driver: rds-replica\n${RDS}${ROLE_FENCE}    resync: { command: /bin/true }\n`,
    /components\.postgres\.resync.*CreateDBInstanceReadReplica: remove `resync`/,
  ],
  [
    `    driver: rds-replica\n${RDS.replace('"123456789012"', '"12345"')}`,
    /components\.postgres\.rds\.accountId.*12-digit/,
  ],
  [
    `    driver: rds-replica\n${RDS.replace('region: eu-west-1', 'region: Europe')}`,
    /components\.postgres\.rds\.primary\.region.*AWS region/,
  ],
])('refuses a wrong driver block, saying what to fix (%#)', (extra, message) => {
  expect(() => load(extra)).toThrow(message);
});

it('accepts the role fence with its roles, also on rds-replica (RDS forbids ALTER SYSTEM)', () => {
  const fence = `    fence: { method: role, roles: [app, app_batch] }\n`;
  expect(load(fence).components.postgres?.fence).toEqual({
    method: 'role',
    roles: ['app', 'app_batch'],
  });
  expect(load(`    driver: rds-replica\n${RDS}${fence}`).components.postgres?.fence.method).toBe(
    'role',
  );
});

it.each([
  ['    fence: { method: role }\n', /components\.postgres\.fence.*needs fence\.roles/],
  ['    fence: { method: role, roles: [] }\n', /components\.postgres\.fence.*needs fence\.roles/],
  [
    '    fence: { method: read-only, roles: [app] }\n',
    /components\.postgres\.fence.*fence\.roles is for fence\.method "role"/,
  ],
  [
    `    driver: rds-replica\n${RDS}    fence: { method: command, command: /bin/true }\n`,
    /components\.postgres\.fence.*cannot fence with method command: there is no host to run it on\. Set fence: \{ method: role, roles/,
  ],
  // The default fence needs ALTER SYSTEM: an RDS config must choose the role fence explicitly.
  [
    `    driver: rds-replica\n${RDS}`,
    /components\.postgres\.fence.*cannot fence with method read-only \(the default\): RDS forbids ALTER SYSTEM\. Set fence: \{ method: role, roles: \[\.\.\.\] \}, the login roles the application writes with/,
  ],
  [
    `    driver: rds-replica\n${RDS}    fence: { method: read-only }\n`,
    /components\.postgres\.fence.*RDS forbids ALTER SYSTEM/,
  ],
])('refuses a fence that cannot work, saying what to fix (%#)', (extra, message) => {
  expect(() => load(extra)).toThrow(message);
});

const CNPG = `    driver: cloudnative-pg
    cloudnativePg:
      primary: { context: eu-west, namespace: db, name: pg-eu-west }
      secondary: { context: eu-central, namespace: db, name: pg-eu-central }
`;

it('accepts cloudnative-pg with its two Clusters, and dr config check names them', () => {
  const config = load(CNPG);
  expect(config.components.postgres?.cloudnativePg).toMatchObject({
    operationTimeoutSeconds: 600,
    secondary: { namespace: 'db', name: 'pg-eu-central' },
  });
  expect(summarizeConfig(config, {}).lines).toContain(
    '  postgres     primary postgres://db1.internal:5432/app, secondary postgres://db2.internal:5432/app; CloudNativePG Clusters db/pg-eu-west (primary), db/pg-eu-central (secondary)',
  );
});

it('reuses components.kubernetes for the Clusters when their block names no context', () => {
  const kubernetes = `  kubernetes:
    primary: { context: eu-west }
    secondary: { context: eu-central }
    workloads: [{ kind: Deployment, namespace: shop, name: api, productionReplicas: 2, standbyReplicas: 1 }]
`;
  const noContext = CNPG.replace(/context: [a-z-]+, /g, '');
  expect(load(noContext + kubernetes).components.postgres?.driver).toBe('cloudnative-pg');
});

it.each([
  ['    driver: cloudnative-pg\n', /components\.postgres\.cloudnativePg.*needs `cloudnativePg`/],
  [
    CNPG.replace(/context: [a-z-]+, /g, ''),
    /components\.postgres\.cloudnativePg\.secondary\.context.*same Kubernetes API.*set context/,
  ],
  [
    CNPG.replace('name: pg-eu-central', 'name: pg-eu-west'),
    /components\.postgres\.cloudnativePg.*different names/,
  ],
  [
    CNPG.replace('name: pg-eu-west', 'name: PG_West'),
    /cloudnativePg\.primary\.name.*Kubernetes name/,
  ],
  [`${CNPG}    resync: { command: /bin/true }\n`, /components\.postgres\.resync.*remove `resync`/],
  [
    `${CNPG}    fence: { method: role, roles: [app] }\n`,
    /components\.postgres\.fence.*fences by demoting the primary Cluster.*remove `fence`/,
  ],
  [CNPG.replace('    driver: cloudnative-pg\n', ''), /set driver: cloudnative-pg or remove it/],
])('refuses a wrong cloudnative-pg block, saying what to fix (%#)', (extra, message) => {
  expect(() => load(extra)).toThrow(message);
});

const AURORA = `    driver: aurora-global
    aurora:
      globalClusterIdentifier: app-global
      accountId: "123456789012"
      primary: { clusterIdentifier: app-eu-west, region: eu-west-1 }
      secondary: { arn: "arn:aws:rds:eu-central-1:123456789012:cluster:app-eu-central", region: eu-central-1 }
`;

it('accepts aurora-global with a global cluster, and dr config check names it', () => {
  const config = load(AURORA);
  expect(config.components.postgres?.aurora).toMatchObject({
    globalClusterIdentifier: 'app-global',
    switchoverTimeoutMinutes: 30,
    rejoinTimeoutMinutes: 1440,
  });
  expect(summarizeConfig(config, {}).lines.join('\n')).toContain(
    'Aurora global database app-global: app-eu-west (eu-west-1), secondary arn:aws:rds:eu-central-1:123456789012:cluster:app-eu-central (eu-central-1)',
  );
});

it.each([
  [
    '    driver: aurora-global\n',
    /components\.postgres\.aurora.*driver aurora-global needs `aurora`/,
  ],
  [
    AURORA.replace('    driver: aurora-global\n', ''),
    /components\.postgres\.aurora.*set driver: aurora-global or remove it/,
  ],
  [
    `${AURORA}    resync: { command: "dr lab resync" }\n`,
    /components\.postgres\.resync.*Aurora re-adds it itself\. Remove `resync`/,
  ],
  [`${AURORA}${ROLE_FENCE}`, /components\.postgres\.fence.*does not fence.*Remove `fence`/],
  [
    AURORA.replace('      accountId: "123456789012"\n', ''),
    /components\.postgres\.aurora\.accountId.*build the DB cluster ARNs/,
  ],
  [
    AURORA.replace('region: eu-central-1 }', 'region: eu-west-1 }'),
    /components\.postgres\.aurora\.secondary\.arn.*another region/,
  ],
  [
    AURORA.replace('{ clusterIdentifier: app-eu-west, region', '{ region'),
    /components\.postgres\.aurora\.primary.*clusterIdentifier or as arn/,
  ],
])('refuses a bad aurora-global block clearly (%#)', (extra, message) => {
  expect(() => load(extra)).toThrow(message);
});
