/**
 * The human summary `dr config check` prints: what the bot will act on, and which components it
 * will skip as "not configured", so a reviewer can compare it with the real topology.
 */
import { targetText } from '../report/build.js';
import type { ConnectionRef, DrConfig } from './schema.js';

function refText(ref: ConnectionRef, env: NodeJS.ProcessEnv): string {
  if (ref.urlEnv !== undefined) {
    const value = env[ref.urlEnv];
    return `$${ref.urlEnv} (${value === undefined || value.trim() === '' ? 'NOT SET' : 'set'})`;
  }
  try {
    const u = new URL(ref.url as string);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'url (unparsable)';
  }
}

interface ConfigSummary {
  lines: string[];
  /** Valid but probably not meant: `dr config check` prints them, `dr start` logs them. */
  warnings: string[];
}

/**
 * What a valid config still gets wrong. Requesters need not be approvers, so exactly `required`
 * listed approvers is allowed; but an approver's own request then has one approver too few (the
 * requester's approval never counts), so it can only expire. (Fewer than `required` is refused by
 * the schema: nobody's request could be approved.) A user group can make up the rest, so no
 * warning with one.
 */
export function configWarnings(config: DrConfig): string[] {
  const warnings: string[] = [];
  const a = config.approvals;
  const listed = new Set(a.approvers).size;
  if (a.userGroup === undefined && listed > 0 && listed <= a.required) {
    warnings.push(
      `approvals: with ${listed} approver${listed === 1 ? '' : 's'} and required ${a.required}, a request by an approver can never be approved: list at least ${a.required + 1} or lower required (or add approvals.userGroup)`,
    );
  }
  return warnings;
}

/** Which cloud status detection reads, as evidence (never a trigger). */
function providerStatusSummary(config: DrConfig): string {
  const p = config.detection?.providerStatus;
  if (!p) return '';
  const what = p.aws
    ? `AWS Health events in ${p.aws.region ?? config.regions.primary.name}`
    : p.azure?.resourceId
      ? `Azure Resource Health of ${p.azure.resourceId}`
      : `Azure Resource Health of subscription ${p.azure?.subscriptionId} in ${config.regions.primary.name}`;
  return `; provider status: ${what} every ${p.intervalSeconds} s (evidence only)`;
}

/** The lines before `components:`: where the bot acts, who approves, what it aims for. */
function headerLines(config: DrConfig): string[] {
  const lines: string[] = [];
  const a = config.approvals;
  lines.push(`environment:  ${config.environment}`);
  lines.push(
    `regions:      primary ${config.regions.primary.name}, secondary ${config.regions.secondary.name}`,
  );
  lines.push(
    `slack:        incident channel ${config.slack.incidentChannel}, command ${config.slack.command}`,
  );
  const who = [
    a.approvers.length ? a.approvers.join(', ') : undefined,
    a.userGroup ? `members of user group ${a.userGroup}` : undefined,
  ].filter(Boolean);
  lines.push(
    `approvals:    ${a.required} besides the requester, from ${who.join(' and ')}; expire after ${a.timeoutMinutes} min`,
  );
  const t = config.targets;
  const byComponent = [
    ['PostgreSQL', t.rpoMinutesByComponent.database],
    ['Redis', t.rpoMinutesByComponent.cache],
    ['object storage', t.rpoMinutesByComponent.objectStorage],
    ['Kubernetes state', t.rpoMinutesByComponent.kubernetes],
  ].filter((e): e is [string, number] => e[1] !== undefined);
  lines.push(
    `targets:      RTO ${t.rtoMinutes} min, RPO ${t.rpoMinutes} min${byComponent.length ? ` (${byComponent.map(([name, m]) => `${name} ${targetText(m)}`).join(', ')})` : ''}`,
  );
  return lines;
}

function dnsText(c: DrConfig['components']): string | undefined {
  let dns: string | undefined;
  if (c.dns?.provider === 'route53' && c.dns.route53) {
    const r = c.dns.route53;
    dns = `route53 ${r.recordName} ${r.recordType} in zone ${r.hostedZoneId} (${r.method})`;
  } else if (c.dns?.provider === 'traffic-manager' && c.dns.trafficManager) {
    const t = c.dns.trafficManager;
    dns = `traffic manager profile ${t.profileName} in ${t.resourceGroup} (${t.method})`;
  } else if (c.dns?.provider === 'route53-arc' && c.dns.route53Arc) {
    const a = c.dns.route53Arc;
    // An ARN ends in routingcontrol/<id>: the id is what the console lists.
    const id = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);
    dns = `route53 arc routing controls ${id(a.primaryRoutingControlArn)} (primary), ${id(a.secondaryRoutingControlArn)} (secondary) via ${a.endpoints.length} cluster endpoint(s)`;
  }
  return dns;
}

/** The rds-replica driver's instances, after the servers' URLs. */
function rdsText(rds: NonNullable<DrConfig['components']['postgres']>['rds']): string {
  if (!rds) return '';
  return `; RDS ${rds.primary.instanceIdentifier} (${rds.primary.region}), read replica ${rds.secondary.instanceIdentifier} (${rds.secondary.region})`;
}

/** The azure-flexible driver's servers, after the servers' URLs. */
function azureFlexibleText(
  a: NonNullable<DrConfig['components']['postgres']>['azureFlexible'],
): string {
  if (!a) return '';
  const ve = a.virtualEndpoint
    ? `, switchover via virtual endpoint ${a.virtualEndpoint}`
    : ', standalone promotion (no virtual endpoint)';
  return `; Azure flexible server ${a.primary.serverName} (${a.primary.location}), read replica ${a.secondary.serverName} (${a.secondary.location})${ve}`;
}

/** The cloudnative-pg driver's Clusters, after the servers' URLs. */
function cnpgText(cnpg: NonNullable<DrConfig['components']['postgres']>['cloudnativePg']): string {
  if (!cnpg) return '';
  const side = (s: typeof cnpg.primary): string => `${s.namespace}/${s.name}`;
  return `; CloudNativePG Clusters ${side(cnpg.primary)} (primary), ${side(cnpg.secondary)} (secondary)`;
}

/** The aurora-global driver's global database and clusters, after the servers' URLs. */
function auroraText(a: NonNullable<DrConfig['components']['postgres']>['aurora']): string {
  if (!a) return '';
  const c = (m: typeof a.primary): string => `${m.clusterIdentifier ?? m.arn ?? ''} (${m.region})`;
  return `; Aurora global database ${a.globalClusterIdentifier}: ${c(a.primary)}, secondary ${c(a.secondary)}`;
}

/** One `components:` row per component, "not configured" for those left out. */
function componentLines(c: DrConfig['components'], env: NodeJS.ProcessEnv): string[] {
  const lines: string[] = [];
  const row = (name: string, text: string | undefined): void => {
    lines.push(`  ${name.padEnd(13)}${text ?? 'not configured (its steps are skipped)'}`);
  };
  row(
    'postgres',
    c.postgres &&
      `primary ${refText(c.postgres.primary, env)}, secondary ${refText(c.postgres.secondary, env)}${rdsText(c.postgres.rds)}${cnpgText(c.postgres.cloudnativePg)}${azureFlexibleText(c.postgres.azureFlexible)}${auroraText(c.postgres.aurora)}`,
  );
  row(
    'redis',
    c.redis &&
      `primary ${refText(c.redis.primary, env)}, secondary ${refText(c.redis.secondary, env)}`,
  );
  row('dns', dnsText(c));
  row(
    'kubernetes',
    c.kubernetes &&
      `${c.kubernetes.workloads.length} workload(s): ${c.kubernetes.workloads
        .map(
          (w) => `${w.kind} ${w.namespace}/${w.name} ${w.standbyReplicas}→${w.productionReplicas}`,
        )
        .join(', ')}`,
  );
  const v = c.verification;
  const count = (r: 'primary' | 'secondary'): string =>
    v ? `${r} ${v[r].http.length} http + ${v[r].commands.length} command` : '';
  row('verification', v && `${count('primary')}, ${count('secondary')}`);
  const o = c.objectStorage;
  const side = (x: NonNullable<typeof o>['primary']): string =>
    x.bucket ??
    (x.container
      ? `${x.container}${x.connectionStringEnv ? ` via $${x.connectionStringEnv}` : ''}`
      : '?');
  row('object store', o && `${o.provider} ${side(o.primary)} → ${side(o.secondary)}`);
  const t = c.terraformState;
  const state = (x: NonNullable<typeof t>['primary']): string =>
    x.backend === 's3'
      ? `s3://${x.bucket}/${x.key}`
      : `azurerm ${x.container}/${x.key}${x.connectionStringEnv ? ` via $${x.connectionStringEnv}` : ''}`;
  row(
    'tf state',
    t &&
      `${state(t.primary)} vs ${state(t.secondary)}; ≤ ${t.maxSerialLag} serial(s) behind, locks stale after ${t.staleLockMinutes} min`,
  );
  return lines;
}

/** What the failback's consistency check compares, and within which budget. */
function consistencyLine(config: DrConfig): string {
  const { postgres, redis } = config.components;
  const k = config.consistency;
  const parts = [
    postgres
      ? postgres.consistencyTables.length
        ? `tables ${postgres.consistencyTables.join(', ')} in chunks of ${k.postgres.chunkRows} rows, ${k.postgres.concurrency} queries at a time per side`
        : 'no PostgreSQL table (components.postgres.consistencyTables is empty)'
      : null,
    redis ? `${k.redis.sampleKeys} Redis keys at random` : null,
  ].filter((p) => p !== null);
  if (parts.length === 0) return 'consistency:  nothing to compare (no PostgreSQL, no Redis)';
  return `consistency:  ${parts.join('; ')}; within ${k.timeBudgetSeconds} s; not wholly proven: ${k.unproven}`;
}

export function summarizeConfig(config: DrConfig, env: NodeJS.ProcessEnv): ConfigSummary {
  const c = config.components;
  const lines: string[] = [...headerLines(config), 'components:', ...componentLines(c, env)];
  const rd = config.readiness;
  const velero = c.kubernetes?.velero;
  lines.push(
    `readiness:    ${rd.intervalMinutes > 0 ? `every ${rd.intervalMinutes} min` : 'periodic checks off'}; drill warning after ${rd.drillWarnDays} days${
      velero
        ? `; Velero backups${velero.schedules.length ? ` (${velero.schedules.join(', ')})` : ''} in ${velero.namespace}, location ${velero.storageLocation}, younger than ${velero.maxAgeHours} h, seen by the secondary's ${velero.secondaryStorageLocation ?? velero.storageLocation}`
        : ''
    }`,
  );
  lines.push(consistencyLine(config));
  const d = config.detection;
  lines.push(
    `detection:    ${
      d
        ? `${d.minAlerts} ${d.alertName} alerts in ${d.windowSeconds} s plus ${d.probeFailures} failed probe rounds; webhook token in $${d.tokenEnv}${providerStatusSummary(config)}`
        : 'off (no alert webhook, no probes)'
    }`,
  );

  // What the environment lacks is not the summary's to say: checkStart (runtime.ts) says it, for
  // dr start and dr config check alike.
  return { lines, warnings: configWarnings(config) };
}
