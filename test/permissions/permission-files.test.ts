/**
 * The files operators are given in deploy/permissions cover what the code does: every API call
 * a cloud provider sends is in the list beside it, and every listed call is allowed by the IAM
 * policy, the Azure role or the Kubernetes Role; every right preflight checks is granted by
 * postgres.sql / redis.acl.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AZURE_BLOB_CALLS } from '../../src/providers/azure-blob-api-calls.js';
import { KUBERNETES_CALLS } from '../../src/providers/kubernetes-api-calls.js';
import { KUBERNETES_RIGHTS } from '../../src/providers/kubernetes-rights.js';
import { PG_RIGHTS } from '../../src/providers/postgres/rights.js';
import { AZURE_CACHE_CALLS } from '../../src/providers/redis-azure-cache/api-calls.js';
import { AZURE_FLEXIBLE_CALLS } from '../../src/providers/postgres/azure-flexible-api-calls.js';
import {
  ELASTICACHE_CALLS,
  ELASTICACHE_CLOUDWATCH_CALLS,
} from '../../src/providers/redis-elasticache/api-calls.js';
import { REDIS_RIGHTS } from '../../src/providers/redis/rights.js';
import { RDS_REPLICA_CALLS } from '../../src/providers/postgres/rds-api-calls.js';
import { AURORA_GLOBAL_CALLS } from '../../src/providers/postgres/aurora-api-calls.js';
import { CNPG_CALLS } from '../../src/providers/postgres/cnpg-api-calls.js';
import { ROUTE53_CALLS } from '../../src/providers/route53/api-calls.js';
import { ROUTE53_ARC_CALLS } from '../../src/providers/route53-arc/api-calls.js';
import { S3_CALLS } from '../../src/providers/s3-api-calls.js';
import {
  TERRAFORM_LOCK_DYNAMODB_CALLS,
  TERRAFORM_STATE_S3_CALLS,
} from '../../src/providers/terraform-state-api-calls.js';
import { TRAFFIC_MANAGER_CALLS } from '../../src/providers/traffic-manager/api-calls.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const sources = (dir: string): string =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => read(join(dir, f)))
    .join('\n');

/** The SDK command classes a source imports from `pkg`. */
function commandsImported(source: string, pkg: string): string[] {
  const found = new Set<string>();
  const re = new RegExp(`import\\s*{([^}]*)}\\s*from\\s*'${pkg}'`, 'g');
  for (const m of source.matchAll(re))
    for (const name of m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')))
      if (name.endsWith('Command')) found.add(name);
  return [...found].sort();
}

/** IAM / Azure action matching with `*` wildcards, as both services match them. */
const allows = (patterns: readonly string[], action: string): boolean =>
  patterns.some((p) =>
    new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
        .join('.*')}$`,
      'i',
    ).test(action),
  );

const iam = JSON.parse(read('deploy/permissions/aws-iam-policy.json')) as {
  Statement: { Effect: string; Action: string[] }[];
};
const iamActions = iam.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action);
const role = JSON.parse(read('deploy/permissions/azure-custom-role.json')) as {
  Actions: string[];
  DataActions: string[];
};

describe('the AWS IAM policy', () => {
  it('lists every Route 53 call the provider sends', () => {
    const sent = commandsImported(sources('src/providers/route53'), '@aws-sdk/client-route-53');
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).toEqual(Object.keys(ROUTE53_CALLS).sort());
  });

  it('lists every ARC cluster call the route53-arc provider sends', () => {
    const sent = commandsImported(
      sources('src/providers/route53-arc'),
      '@aws-sdk/client-route53-recovery-cluster',
    );
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).toEqual(Object.keys(ROUTE53_ARC_CALLS).sort());
  });

  it('lists every S3 call the canary sends', () => {
    const sent = commandsImported(read('src/providers/s3.ts'), '@aws-sdk/client-s3');
    expect(sent).toEqual(Object.keys(S3_CALLS).sort());
  });

  it('lists every RDS call the rds-replica driver sends', () => {
    const sent = commandsImported(
      read('src/providers/postgres/rds-replica.ts'),
      '@aws-sdk/client-rds',
    );
    expect(sent).toEqual(Object.keys(RDS_REPLICA_CALLS).sort());
  });

  it('lists every RDS call the aurora-global driver sends', () => {
    const sent = commandsImported(
      ['aurora-global.ts', 'aurora-api.ts']
        .map((f) => read(`src/providers/postgres/${f}`))
        .join('\n'),
      '@aws-sdk/client-rds',
    );
    expect(sent).toEqual(Object.keys(AURORA_GLOBAL_CALLS).sort());
  });

  it('lists every call the Terraform state row sends, to S3 and to the DynamoDB lock table', () => {
    const s3 = commandsImported(read('src/providers/terraform-state-s3.ts'), '@aws-sdk/client-s3');
    expect(s3).toEqual(Object.keys(TERRAFORM_STATE_S3_CALLS).sort());
    const dynamo = commandsImported(
      read('src/providers/terraform-lock-dynamodb.ts'),
      '@aws-sdk/client-dynamodb',
    );
    expect(dynamo).toEqual(Object.keys(TERRAFORM_LOCK_DYNAMODB_CALLS).sort());
  });

  it.each(
    Object.entries({
      ...TERRAFORM_STATE_S3_CALLS,
      ...TERRAFORM_LOCK_DYNAMODB_CALLS,
      ...ROUTE53_CALLS,
      ...ROUTE53_ARC_CALLS,
      ...S3_CALLS,
      ...RDS_REPLICA_CALLS,
      ...AURORA_GLOBAL_CALLS,
      ...ELASTICACHE_CALLS,
      ...ELASTICACHE_CLOUDWATCH_CALLS,
    }),
  )('allows %s (%s)', (_call, action) => {
    expect(allows(iamActions, action)).toBe(true);
  });

  it('lists every ElastiCache call the elasticache-global driver sends', () => {
    const sent = commandsImported(
      sources('src/providers/redis-elasticache'),
      '@aws-sdk/client-elasticache',
    );
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).toEqual(Object.keys(ELASTICACHE_CALLS).sort());
  });

  it('grants DisassociateGlobalReplicationGroup only on the secondary group, sent only by the last resort', () => {
    // The last resort (issue 20) detaches the failover's target, the secondary: never the primary.
    const statements = iam.Statement as unknown as {
      Action: string[];
      Resource: string | string[];
    }[];
    const detach = statements.filter((st) =>
      st.Action.includes('elasticache:DisassociateGlobalReplicationGroup'),
    );
    expect(detach).toHaveLength(1);
    expect(detach[0]!.Action).toEqual(['elasticache:DisassociateGlobalReplicationGroup']);
    expect([detach[0]!.Resource].flat().join('\n')).not.toMatch(/PRIMARY_REPLICATION_GROUP/);
    expect([detach[0]!.Resource].flat().join('\n')).toMatch(/SECONDARY_REPLICATION_GROUP/);
    const sending = readdirSync(join(ROOT, 'src/providers/redis-elasticache')).filter((f) =>
      /new DisassociateGlobalReplicationGroupCommand\(/.test(
        read(join('src/providers/redis-elasticache', f)),
      ),
    );
    expect(sending).toEqual(['api.ts']);
    // ... and api.ts's disassociate() is called from the detach only.
    const callers = readdirSync(join(ROOT, 'src/providers/redis-elasticache')).filter((f) =>
      /\.disassociate\(/.test(read(join('src/providers/redis-elasticache', f))),
    );
    expect(callers).toEqual(['detach.ts']);
  });

  it('lists every CloudWatch call the elasticache-global driver sends (the lag metric)', () => {
    const sent = commandsImported(
      sources('src/providers/redis-elasticache'),
      '@aws-sdk/client-cloudwatch',
    );
    expect(sent).toEqual(Object.keys(ELASTICACHE_CLOUDWATCH_CALLS).sort());
  });
});

describe('the Azure custom role', () => {
  it('lists every Traffic Manager call the provider makes', () => {
    const src = sources('src/providers/traffic-manager');
    const sent = new Set(
      [...src.matchAll(/\.(profiles|endpoints)\.(\w+)\(/g)].map((m) => `${m[1]}.${m[2]}`),
    );
    expect([...sent].sort()).toEqual(Object.keys(TRAFFIC_MANAGER_CALLS).sort());
  });

  it('lists every Blob call the canary makes', () => {
    const src = read('src/providers/azure-blob.ts');
    const sent = new Set(
      [...src.matchAll(/get(?:BlockBlob|Blob)Client\([^)]*\)\.(\w+)\(/g)].map((m) => m[1]!),
    );
    expect([...sent].sort()).toEqual(Object.keys(AZURE_BLOB_CALLS).sort());
  });

  it('lists every Azure Cache for Redis call the azure-cache driver makes', () => {
    const src = sources('src/providers/redis-azure-cache');
    const sent = new Set(
      [...src.matchAll(/\.(redis|linkedServer)\.(\w+)\(/g)].map((m) => `${m[1]}.${m[2]}`),
    );
    expect(sent.size).toBeGreaterThan(0);
    expect([...sent].sort()).toEqual(Object.keys(AZURE_CACHE_CALLS).sort());
  });

  it('lists every flexible server call the azure-flexible driver makes', () => {
    const src = ['azure-flexible.ts', 'azure-flexible-api.ts']
      .map((f) => read(join('src/providers/postgres', f)))
      .join('\n');
    const sent = new Set(
      [...src.matchAll(/\.(servers|virtualEndpoints)\.(\w+)\(/g)].map((m) => `${m[1]}.${m[2]}`),
    );
    expect(sent.size).toBeGreaterThan(0);
    expect([...sent].sort()).toEqual(Object.keys(AZURE_FLEXIBLE_CALLS).sort());
  });

  it.each(
    Object.entries({ ...TRAFFIC_MANAGER_CALLS, ...AZURE_CACHE_CALLS, ...AZURE_FLEXIBLE_CALLS }),
  )('allows %s', (_call, actions) => {
    for (const a of actions) expect(allows(role.Actions, a)).toBe(true);
  });

  it.each(Object.entries(AZURE_BLOB_CALLS))('allows the data actions of %s', (_call, actions) => {
    for (const a of actions) expect(allows(role.DataActions, a)).toBe(true);
  });
});

describe('the Kubernetes Role', () => {
  const files = readdirSync(join(ROOT, 'src/providers')).filter((f) =>
    /^kubernetes.*\.ts$/.test(f),
  );
  const src = files.map((f) => read(join('src/providers', f))).join('\n');
  const role = parseAllDocuments(read('deploy/permissions/kubernetes-rbac.yaml'))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[] })
    .find((d) => d.kind === 'Role' && d.metadata.name === 'dr-bot')!;
  const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];

  it('lists every call the provider sends', () => {
    const sent = new Set(
      [...src.matchAll(/\.(apps|autoscaling|core|version)\.(\w+)\(/g)].map(
        (m) => `${m[1]}.${m[2]}`,
      ),
    );
    // The wait watches each workload's collection through the client's Watch.
    if (/new Watch\(/.test(src))
      for (const r of ['deployments', 'statefulsets']) sent.add(`Watch.${r}`);
    expect([...sent].sort()).toEqual(Object.keys(KUBERNETES_CALLS).sort());
  });

  // What the provider calls is what preflight asks about: a new call without its right fails here.
  it.each(Object.entries(KUBERNETES_CALLS).filter(([, r]) => r !== null))(
    'preflight checks the right %s needs',
    (_call, right) => {
      const { group, resource, verb } = right!;
      const checked = KUBERNETES_RIGHTS.map((r) => [
        r.group,
        r.subresource ? `${r.resource}/${r.subresource}` : r.resource,
        r.verb,
      ]);
      expect(checked).toContainEqual([group, resource, verb]);
    },
  );

  it.each(Object.entries(KUBERNETES_CALLS).filter(([, r]) => r !== null))(
    'grants %s',
    (_call, right) => {
      const { group, resource, verb } = right!;
      expect(
        rules.some(
          (r) =>
            r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
        ),
      ).toBe(true);
    },
  );
});

describe('deploy/permissions for the data tier', () => {
  const sql = read('deploy/permissions/postgres.sql');
  const acl = read('deploy/permissions/redis.acl');
  const aclLine = acl
    .split('\n')
    .find((l) => l.startsWith('user dr-bot '))!
    .split(/\s+/);

  it.each(PG_RIGHTS.map((r) => [r.name, r.grant] as const))(
    'postgres.sql grants %s',
    (_name, grant) => {
      expect(sql).toContain(grant.replace('ROLE', 'dr_bot'));
    },
  );

  it.each(REDIS_RIGHTS.map((r) => [r.rule, r.keys ?? null] as const))(
    'redis.acl allows %s',
    (rule, keys) => {
      expect(aclLine).toContain(rule);
      if (keys) expect(aclLine).toContain(keys);
    },
  );

  // The reverse: a right added to a file without a preflight check (and so without its revoke
  // case in test/lab/least-privilege) fails here.
  it('has a preflight check for every GRANT in postgres.sql', () => {
    const checked = new Set(PG_RIGHTS.map((r) => r.grant.replace('ROLE', 'dr_bot')));
    const grants = sql
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^GRANT /.test(l));
    // Optional: granted only where pg_walinspect is installed; without it failback counts nothing.
    const optional = [
      'GRANT EXECUTE ON FUNCTION pg_get_wal_records_info(pg_lsn, pg_lsn) TO dr_bot;',
    ];
    expect(grants.filter((g) => !checked.has(g) && !optional.includes(g))).toEqual([]);
    expect(grants.length).toBe(PG_RIGHTS.length + optional.length);
  });

  it('has a preflight check for every command and key pattern redis.acl allows', () => {
    const rules = new Set(REDIS_RIGHTS.map((r) => r.rule));
    const keys = new Set(REDIS_RIGHTS.flatMap((r) => (r.keys ? [r.keys] : [])));
    // Preflight's own means of checking: their absence is its own red row.
    const preflight = ['+acl|whoami', '+acl|dryrun'];
    const commands = aclLine.filter((w) => w.startsWith('+'));
    expect(commands.filter((c) => !rules.has(c) && !preflight.includes(c))).toEqual([]);
    const patterns = aclLine.filter((w) => w.startsWith('~') || w.startsWith('%'));
    expect(patterns.filter((p) => !keys.has(p))).toEqual([]);
  });

  it('gives the Redis user no password and never every command', () => {
    expect(aclLine).toContain('resetpass');
    expect(aclLine.some((w) => w === 'nopass' || w.startsWith('>') || w.startsWith('#'))).toBe(
      false,
    );
    expect(aclLine).toContain('-@all');
    expect(aclLine.some((w) => w === '+@all' || w === 'allcommands')).toBe(false);
  });
});

describe('deploy/permissions/kubernetes-rbac.yaml', () => {
  const roles = parseAllDocuments(read('deploy/permissions/kubernetes-rbac.yaml'))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[] })
    .filter((d) => d.kind === 'Role') as {
    metadata: { name: string };
    rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  }[];

  it.each(
    KUBERNETES_RIGHTS.map((r) => [
      r.verb,
      r.subresource ? `${r.resource}/${r.subresource}` : r.resource,
      r.group,
      r.for,
    ]),
  )('grants %s on %s (%s) in the %s Role', (verb, resource, group, kind) => {
    const role = roles.find(
      (x) => x.metadata.name === (kind === 'velero' ? 'dr-bot-velero' : 'dr-bot'),
    )!;
    const granted = role.rules.some(
      (rule) =>
        rule.apiGroups.includes(group) &&
        rule.resources.includes(resource) &&
        rule.verbs.includes(verb),
    );
    expect(granted).toBe(true);
  });
});

describe('the cloudnative-pg driver in kubernetes-rbac.yaml', () => {
  const src = ['cnpg-clusters.ts', 'cloudnative-pg.ts']
    .map((f) => read(join('src/providers/postgres', f)))
    .join('\n');
  const docs = parseAllDocuments(read('deploy/permissions/kubernetes-rbac.yaml')).map(
    (d) =>
      d.toJS() as {
        kind: string;
        metadata: { name: string };
        rules?: {
          apiGroups: string[];
          resources: string[];
          verbs: string[];
          resourceNames?: string[];
        }[];
      },
  );

  it('lists every call the driver sends', () => {
    const sent = new Set(
      [...src.matchAll(/\.(objects|ext)\.(\w+)\(/g)].map(
        (m) => `${m[1] === 'objects' ? 'customObjects' : 'apiextensions'}.${m[2]}`,
      ),
    );
    expect([...sent].sort()).toEqual(Object.keys(CNPG_CALLS).sort());
  });

  it.each(Object.entries(CNPG_CALLS))('grants %s', (_call, right) => {
    const role = docs.find(
      (d) =>
        d.kind === (right.clusterScopedName ? 'ClusterRole' : 'Role') &&
        d.metadata.name ===
          (right.clusterScopedName ? 'dr-bot-cloudnative-pg-crd' : 'dr-bot-cloudnative-pg'),
    )!;
    expect(
      role.rules!.some(
        (r) =>
          r.apiGroups.includes(right.group) &&
          r.resources.includes(right.resource) &&
          r.verbs.includes(right.verb) &&
          (!right.clusterScopedName || r.resourceNames?.includes(right.clusterScopedName)),
      ),
    ).toBe(true);
  });
});
