/**
 * `dr config check --live` as an operator runs it against the lab: the real CLI process with only
 * lab.env (and Slack tokens, which the file checks want), one row per component from preflight,
 * exit 1 when a right of the bot's PostgreSQL role is missing, and nothing changed anywhere.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { BOT_PG_ROLE } from '../../src/lab/permissions.js';
import { labCloud } from '../../src/lab/simulators/part.js';
import { runDr, runDrHere, type DrRun } from '../support/dr-cli.js';
import { sql, startLab, stopLabs, until } from '../support/lab.js';

let lab: LabInfo;
let env: NodeJS.ProcessEnv;
/** The runs that change nothing anywhere: started side by side in beforeAll, once. */
let runs: Record<'ok' | 'noKeys' | 'wrongRegion', DrRun>;
let rolesBefore: boolean[];

beforeAll(async () => {
  lab = await startLab({ cloud: true });
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...readLabEnv(lab.envFile),
    SLACK_BOT_TOKEN: 'xoxb-config-check-live',
    SLACK_SIGNING_SECRET: 'config-check-live-secret',
  };
  rolesBefore = await pgRoles();
  const [ok, noKeys, wrongRegion] = await Promise.all([
    check(),
    runDr(['config', 'check', '--live'], { env: withoutAwsKeys() }),
    runDr(['config', 'check', '--live'], { env: { ...env, DR_CONFIG: wrongRegionConfig() } }),
  ]);
  runs = { ok, noKeys, wrongRegion };
}, 180_000);

afterAll(async () => {
  await stopLabs();
});

const check = (): Promise<DrRun> => runDr(['config', 'check', '--live'], { env });

/** Which PostgreSQL server is a standby: what a read-only check must leave as it found it. */
async function pgRoles(): Promise<boolean[]> {
  return Promise.all(
    [lab.postgres.primary.url, lab.postgres.secondary.url].map(
      async (url) =>
        (await sql<{ standby: boolean }>(url, 'SELECT pg_is_in_recovery() AS standby'))[0]!.standby,
    ),
  );
}

const row = (out: string, component: string): string =>
  out.split('\n').find((l) => l.startsWith(`  ${component}: `)) ??
  `(no ${component} row in:\n${out})`;

test('with the lab config and lab.env: a row per component, none blocked, exit 0', async () => {
  const run = runs.ok;
  expect(run.stderr).not.toMatch(/blocked|live check failed/);
  expect(run.stdout).toContain('live checks (failover readiness, planned mode):');
  expect(row(run.stdout, 'database')).toMatch(/^ {2}database: ok — /);
  expect(row(run.stdout, 'cache')).toMatch(/^ {2}cache: ok — /);
  expect(row(run.stdout, 'dns')).toMatch(/^ {2}dns: (ok|warning) — /);
  expect(run.code).toBe(0);
  expect(await pgRoles()).toEqual(rolesBefore);
});

test('without pg_checkpoint for the bot role: the database row is blocked and names it, exit 1', async () => {
  const P = lab.postgres.primary.url;
  const S = lab.postgres.secondary.url;
  await sql(P, `REVOKE pg_checkpoint FROM ${BOT_PG_ROLE}`);
  try {
    await until('the standby to replay the REVOKE', async () => {
      const [r] = await sql<{ held: boolean }>(
        S,
        `SELECT pg_has_role('${BOT_PG_ROLE}', 'pg_checkpoint', 'MEMBER') AS held`,
      );
      return r!.held === false;
    });
    const before = await pgRoles();
    const run = await check();
    const db = row(run.stdout, 'database');
    expect(db).toMatch(/^ {2}database: blocked — /);
    expect(db).toContain('missing pg_checkpoint');
    expect(db).toContain(`GRANT pg_checkpoint TO "${BOT_PG_ROLE}"`);
    expect(run.stderr).toContain('blocked: database');
    expect(run.code).toBe(1);
    expect(await pgRoles()).toEqual(before);
  } finally {
    await sql(P, `GRANT pg_checkpoint TO ${BOT_PG_ROLE}`);
  }
}, 60_000);

/** A right taken away in the simulated clouds, through their control API. */
async function control(path: string): Promise<void> {
  const res = await fetch(`${labCloud(lab)!.controlUrl}${path}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

test('without a Kubernetes rule, a Route 53 read and the canary write: each row blocked naming it, exit 1', async () => {
  await control('/kubernetes/secondary/revoke?verb=patch&resource=deployments/scale');
  await control('/route53/deny/ListResourceRecordSets');
  await control('/s3/deny/s3:PutObject');
  try {
    const before = await pgRoles();
    const run = await check();
    expect(row(run.stdout, 'cluster')).toMatch(/^ {2}cluster: blocked — /);
    expect(row(run.stdout, 'cluster')).toContain(
      "secondary: may not patch deployments/scale in namespace shop (scale it (the merge patch `kubectl scale` sends)): add the rule {apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch']}",
    );
    expect(row(run.stdout, 'dns')).toMatch(/^ {2}dns: blocked — /);
    expect(row(run.stdout, 'dns')).toContain('may not route53:ListResourceRecordSets');
    expect(row(run.stdout, 'object-storage')).toMatch(/^ {2}object-storage: blocked — /);
    expect(row(run.stdout, 'object-storage')).toContain('may not s3:PutObject');
    expect(run.stderr).toContain('blocked: dns, cluster, object-storage');
    expect(run.code).toBe(1);
    expect(await pgRoles()).toEqual(before);
  } finally {
    await control('/kubernetes/secondary/restore');
    await control('/route53/allow/ListResourceRecordSets');
    await control('/s3/allow/s3:PutObject');
  }
}, 60_000);

test('--live with --skip-env is a usage error', async () => {
  // Refused before anything is read: the CLI's code in this process says the same.
  const run = await runDrHere(['config', 'check', '--live', '--skip-env'], env);
  expect(run.stderr).toMatch(/--skip-env.*--live|--live.*--skip-env/);
  expect(run.code).toBe(2);
});

function withoutAwsKeys(): NodeJS.ProcessEnv {
  const noKeys: NodeJS.ProcessEnv = {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
  };
  delete noKeys.AWS_ACCESS_KEY_ID;
  delete noKeys.AWS_SECRET_ACCESS_KEY;
  return noKeys;
}

test('without AWS credentials: the Route 53 row is blocked with one line naming what to set, exit 1', () => {
  const run = runs.noKeys;
  expect(row(run.stdout, 'dns')).toMatch(
    /^ {2}dns: blocked — .*no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
  );
  expect(run.stdout + run.stderr).not.toMatch(/CredentialsProviderError|at .*\.js:\d+/);
  expect(run.code).toBe(1);
});

/** The lab's buckets are in us-east-1; this config says eu-west-1, as a copied config might. */
function wrongRegionConfig(): string {
  const config = parse(readFileSync(lab.configPath, 'utf8')) as {
    components: { objectStorage: { primary: { region: string } } };
  };
  config.components.objectStorage.primary.region = 'eu-west-1';
  const path = join(lab.dir, 'wrong-region.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

test('an object-storage region other than the bucket’s: its row names the wrong region, exit 1', () => {
  const run = runs.wrongRegion;
  expect(row(run.stdout, 'object-storage')).toMatch(
    /^ {2}object-storage: blocked — .*wrong AWS region: the request was signed for eu-west-1 but the resource is in us-east-1/,
  );
  expect(run.code).toBe(1);
});
