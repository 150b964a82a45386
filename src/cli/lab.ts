/**
 * `dr lab up|down|status|outage|restore`: thin wrappers over src/lab that print what a person
 * needs next. src/lab is imported lazily so the rest of the CLI does not load process management
 * and simulators.
 */
import { constants } from 'node:os';
import type { RegionRole } from '../domain/types.js';
import { DrError } from '../errors.js';
import type { CloudState, LabCloud, LabInfo, LabStatus, LabUpOptions } from '../lab/index.js';
import type { LabOutageResult, LabRestoreResult } from '../lab/outage.js';
import type { CliIo } from './io.js';

/** `dr lab up --redis`: the cache driver of the written config. */
export type LabRedis = NonNullable<LabUpOptions['redis']>;
/** `dr lab up --dns`: the DNS method of the written config (AWS). */
export type LabDns = NonNullable<LabUpOptions['dns']>;
/** `dr lab up --postgres`: the database driver of the written config. */
export type LabPostgres = NonNullable<LabUpOptions['postgres']>;

export type LabAction = 'up' | 'down' | 'status' | 'outage' | 'restore';
/** One fixed place by default, so `dr lab status` and `dr lab down` find what `dr lab up` started. */
export const DEFAULT_LAB_DIR = './.lab';

function describeCloud(cloud: LabCloud): string[] {
  return [
    `  route53 API         ${cloud.route53.url} (zone ${cloud.route53.zoneId}, ${cloud.route53.recordName}; DNS server ${cloud.route53.dnsServer})`,
    ...(cloud.arc
      ? [
          `  route53 arc         ${cloud.arc.endpoints.map((e) => `${e.region} ${e.url}`).join(', ')} (cluster endpoints; the failover records follow the routing controls)`,
        ]
      : []),
    `  kubernetes primary  ${cloud.kubernetes.primary.url} (context ${cloud.kubernetes.primary.context})`,
    `  kubernetes second.  ${cloud.kubernetes.secondary.url} (context ${cloud.kubernetes.secondary.context}; kubeconfig ${cloud.kubernetes.kubeconfigPath})`,
    `  health primary      ${cloud.health.primaryUrl}`,
    `  health secondary    ${cloud.health.secondaryUrl}`,
    `  traffic manager     ${cloud.trafficManager.url} (DNS server ${cloud.trafficManager.dnsServer}${cloud.azure ? '' : '; not used by the lab config: it fails DNS over with Route 53'})`,
    ...(cloud.azure
      ? [
          `  entra id            ${cloud.azure.authorityHost} (tenant ${cloud.azure.tenantId}, client ${cloud.azure.clientId}; secret in lab.env)`,
          `  resource health     ${cloud.azure.resourceHealth.url} (${cloud.azure.resourceHealth.resourceId})`,
          `  blob (azurite)      containers ${cloud.azure.blob.primaryContainer} → ${cloud.azure.blob.secondaryContainer} (connection string in $${cloud.azure.blob.connectionStringEnv})`,
        ]
      : []),
    `  s3                  ${cloud.s3.url} (buckets ${cloud.s3.primaryBucket} → ${cloud.s3.secondaryBucket}, replicated after 0.5 s)`,
    `  simulator control   ${cloud.controlUrl} (GET /state; POST /health/{primary|secondary}/{down|up|stop|start})`,
  ];
}

function describeUp(info: LabInfo, cloud: LabCloud | undefined, customSteps: boolean): string {
  const dir = info.dir;
  const lines = [
    `lab running in ${dir} (servers run as ${info.user})`,
    `  postgres primary    ${info.postgres.primary.url} (${info.postgres.walinspect ? 'pg_walinspect: failback counts lost transactions' : 'no pg_walinspect in this PostgreSQL: failback counts lost WAL bytes only'})`,
    `  postgres secondary  ${info.postgres.secondary.url} (streaming standby, ${info.postgres.version})`,
    `  redis primary       ${info.redis.primary.url}`,
    `  redis secondary     ${info.redis.secondary.url} (replica, Redis ${info.redis.version})`,
    `  bot state redis     ${info.stateRedis.url} (the bot's own store: REDIS_URL)`,
    ...(cloud
      ? describeCloud(cloud)
      : Object.entries(info.simulators).map(([name, sim]) => `  ${name.padEnd(19)} ${sim.url}`)),
    ...(cloud && info.simulators.elasticache
      ? [
          `  elasticache API     ${info.simulators.elasticache.url} (global datastore in front of the Redis pair)`,
        ]
      : []),
    ...(cloud && info.simulators['azure-cache']
      ? [
          `  azure cache (ARM)   ${info.simulators['azure-cache'].url} (two Premium caches, geo-replicated, in front of the Redis pair; Entra ID tokens)`,
        ]
      : []),
    ...(cloud && info.simulators['azure-flexible']
      ? [
          `  azure flexible (ARM) ${info.simulators['azure-flexible'].url} (a flexible server and its geo read replica, virtual endpoint lab-pg, in front of the PostgreSQL pair; Entra ID tokens)`,
        ]
      : []),
    ...(cloud && info.simulators.rds
      ? [
          `  rds API             ${info.simulators.rds.url} (a source instance and its cross-region read replica in front of the PostgreSQL pair)`,
        ]
      : []),
    `bot config: ${info.configPath}`,
    ...(customSteps
      ? [
          '  custom steps: pause-consumers (command), status-page (HTTP), tell-support (checklist: Done in the thread, or `done tell-support` in the console)',
        ]
      : []),
    `bot environment: ${info.envFile} (REDIS_URL, DR_CONFIG and the dummy AWS credentials for the simulators)`,
    'run the bot against it (from the dr-bot checkout):',
    `  . ${info.envFile}`,
    '  export SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=…   # SLACK_API_URL optional (a Web API stand-in)',
    `  npx dr start --config ${info.configPath}`,
    `  or without Slack: npx dr console --config ${info.configPath}`,
    `check: npx dr config check --config ${info.configPath}    state: npx dr lab status --dir ${dir}`,
    `regional outage: npx dr lab outage --dir ${dir}    back: npx dr lab restore --dir ${dir}`,
    `stop: npx dr lab down --dir ${dir}`,
  ];
  return lines.join('\n');
}

function workloadsLine(ws: CloudState['kubernetes']['primary']): string {
  return ws
    .map(
      (w) =>
        `${w.namespace}/${w.name} ${w.readyReplicas ?? '?'}/${w.replicas ?? '?'}${w.autoscaler ? ` (autoscaler ${w.autoscaler.minReplicas}–${w.autoscaler.maxReplicas})` : ''}`,
    )
    .join(', ');
}

function describeCloudState(cloud: CloudState | { error: string }): string[] {
  if ('error' in cloud) return [`  ${'simulators'.padEnd(19)} DOWN (${cloud.error})`];
  const health = (h: { healthy: boolean; running: boolean }): string =>
    !h.running ? 'stopped (refuses connections)' : h.healthy ? 'healthy' : 'unhealthy (503)';
  const { primaryHealthCheckInverted: inverted, primaryHealthCheckDisabled: disabled } =
    cloud.route53;
  // Disabled+Inverted is what a failover sets: the check reads unhealthy whatever the endpoint does.
  const check =
    inverted === null
      ? ''
      : inverted && disabled
        ? ', primary health check pinned unhealthy (disabled + inverted)'
        : inverted || disabled
          ? `, primary health check half switched (${inverted ? 'inverted' : 'disabled'} only)`
          : ', primary health check normal';
  const arc = cloud.arc
    ? `, routing controls primary ${cloud.arc.primary}, secondary ${cloud.arc.secondary}`
    : check;
  const tm = cloud.trafficManager;
  // The Azure lab's config switches Traffic Manager: Route 53 is running but not what users get.
  const dns = tm.switchesDns
    ? `  dns (traffic mgr)   serving ${tm.served ?? 'no endpoint'}, primary endpoint ${tm.primaryEndpointStatus ?? 'missing'}`
    : `  dns (route53)       serving ${cloud.route53.servedBy} (${cloud.route53.answer.join(', ') || 'no answer'})${arc}`;
  return [
    dns,
    `  health endpoints    primary ${health(cloud.health.primary)}, secondary ${health(cloud.health.secondary)}`,
    `  kubernetes primary  ready/desired ${workloadsLine(cloud.kubernetes.primary)}`,
    `  kubernetes second.  ready/desired ${workloadsLine(cloud.kubernetes.secondary)}`,
  ];
}

function describeStatus(status: LabStatus, dir: string): string {
  const lines = [`lab in ${status.dir} (bot config ${status.configPath})`];
  const lag = (bytes: number | null | undefined): string =>
    bytes === undefined || bytes === null ? '' : `, lag ${bytes} B`;
  const outage = status.outage;
  const down = (region: RegionRole, error: string | undefined): string =>
    outage?.region === region
      ? `DOWN (regional outage played by dr lab outage at ${outage.at}: npx dr lab restore --dir ${dir} brings it back)`
      : `DOWN${error ? ` (${error})` : ''}`;
  const regions: RegionRole[] = ['primary', 'secondary'];
  status.postgres.forEach((pg, i) => {
    const fenced = pg.role === 'primary' && pg.readOnly ? ', fenced (read-only)' : '';
    lines.push(
      `  postgres ${pg.name.padEnd(14)} ${pg.healthy ? `up, ${pg.role ?? 'role unknown'}${fenced}${lag(pg.lagBytes)}` : down(regions[i]!, pg.error)}`,
    );
  });
  status.redis.forEach((r, i) => {
    const fenced = r.fenced
      ? `, fenced (min-replicas-to-write ${r.fenced.minReplicasToWrite}, ${r.fenced.goodReplicas} good replicas: refuses writes)`
      : '';
    const link = r.role === 'replica' && r.linkUp === false ? ', link to its master DOWN' : '';
    lines.push(
      `  redis    ${r.name.padEnd(14)} ${r.healthy ? `up, ${r.role ?? 'role unknown'}${fenced}${link}${lag(r.lagBytes)}` : down(regions[i]!, r.error)}`,
    );
  });
  if (status.stateRedis) {
    const r = status.stateRedis;
    lines.push(
      `  bot state redis     ${r.healthy ? 'up' : `DOWN${r.error ? ` (${r.error})` : ''}`} ${r.url}`,
    );
  }
  for (const s of status.simulators) {
    lines.push(`  ${s.name.padEnd(19)} ${s.running === false ? 'DOWN' : 'up'} ${s.url}`);
  }
  if (status.cloud) lines.push(...describeCloudState(status.cloud));
  for (const w of status.warnings) lines.push(`WARNING: ${w}`);
  if (status.envFile) lines.push(`bot environment: . ${status.envFile}`);
  return lines.join('\n');
}

function describeOutage(r: LabOutageResult, dir: string): string {
  const redisRole =
    r.redis.replicaOf === undefined
      ? ''
      : `; it was ${r.redis.replicaOf === null ? 'a master' : `a replica of port ${r.redis.replicaOf.port}`}, its data saved for the restore`;
  return [
    `regional outage of the ${r.region} region in ${dir}:`,
    `  postgres ${r.postgres.name.padEnd(14)} ${r.postgres.stopped ? 'stopped as a crash (pg_ctl stop -m immediate: no shutdown checkpoint)' : 'was already down'}`,
    `  redis    ${r.redis.name.padEnd(14)} ${r.redis.stopped ? `killed (SIGKILL)${redisRole}` : 'was already down'}`,
    `  health endpoint     ${r.health.stopped ? 'stopped (refuses connections)' : `not changed: ${r.health.note}`}`,
    `next: npx dr lab status --dir ${dir}; fail over (it is unplanned now); then npx dr lab restore --dir ${dir} brings the region back for a failback`,
  ].join('\n');
}

function describeRestore(r: LabRestoreResult, dir: string): string {
  const redisRole = r.redis.replicaOf
    ? `as a replica of port ${r.redis.replicaOf.port}`
    : 'as a master';
  return [
    `${r.region} region of ${dir} restored:`,
    `  postgres ${r.postgres.name.padEnd(14)} ${r.postgres.started ? `started from its data directory (pid ${r.postgres.pid})` : 'was running'}`,
    `  redis    ${r.redis.name.padEnd(14)} ${r.redis.started ? `started ${redisRole} with the data it had (pid ${r.redis.pid})` : 'was running'}`,
    `  health endpoint     ${r.health.started ? 'listening and healthy' : `not changed: ${r.health.note}`}`,
    `next: npx dr lab status --dir ${dir} (an old primary back beside a promoted standby shows as a second writer until the failback)`,
  ].join('\n');
}

const signalNumber = (s: NodeJS.Signals): number => constants.signals[s] ?? 2;

/**
 * `dr lab up` stops what it started and removes DIR on SIGINT (Ctrl-C) or SIGTERM, as `dr demo`
 * takes its lab down; a second signal exits at once (DIR/lab.json lets `dr lab down` finish).
 */
async function up(
  lab: typeof import('../lab/index.js'),
  dir: string,
  io: CliIo,
  cloud: 'aws' | 'azure',
  choices: { redis?: LabRedis; dns?: LabDns; postgres?: LabPostgres; customSteps?: boolean },
): Promise<number> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      io.stderr(
        `dr lab up: ${signal} again: exiting now; run \`npx dr lab down --dir ${dir}\` to stop what is left\n`,
      );
      process.exit(128 + signalNumber(signal));
    }
    received = signal;
    io.stderr(`\ndr lab up: ${signal} received: stopping what was started and removing ${dir}…\n`);
    controller.abort(new DrError('precondition-failed', `interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const info = await lab.labUp({
      dir,
      signal: controller.signal,
      cloud,
      ...choices,
    });
    io.stdout(`${describeUp(info, lab.labCloud(info), choices.customSteps === true)}\n`);
    return 0;
  } catch (err) {
    if (!received) throw err;
    io.stderr(
      `dr lab up: interrupted by ${received}: stopped what it had started and removed ${dir}\n`,
    );
    return 128 + signalNumber(received);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function runLab(
  action: LabAction,
  opts: {
    dir?: string;
    region?: RegionRole;
    cloud?: 'aws' | 'azure';
    redis?: LabRedis;
    dns?: LabDns;
    postgres?: LabPostgres;
    customSteps?: boolean;
    io: CliIo;
  },
): Promise<number> {
  const { io } = opts;
  const dir = opts.dir ?? DEFAULT_LAB_DIR;
  try {
    const lab = await import('../lab/index.js');
    if (action === 'up')
      return await up(lab, dir, io, opts.cloud ?? 'aws', {
        ...(opts.redis ? { redis: opts.redis } : {}),
        ...(opts.dns ? { dns: opts.dns } : {}),
        ...(opts.postgres ? { postgres: opts.postgres } : {}),
        ...(opts.customSteps ? { customSteps: true } : {}),
      });
    if (action === 'down') {
      await lab.labDown({ dir });
      io.stdout(`lab in ${dir} stopped and removed\n`);
    } else if (action === 'outage' || action === 'restore') {
      const { labOutage, labRestore } = await import('../lab/outage.js');
      const region = opts.region ? { region: opts.region } : {};
      io.stdout(
        `${action === 'outage' ? describeOutage(await labOutage({ dir, ...region }), dir) : describeRestore(await labRestore({ dir, ...region }), dir)}\n`,
      );
    } else {
      io.stdout(`${describeStatus(await lab.labStatus({ dir }), dir)}\n`);
    }
    return 0;
  } catch (err) {
    io.stderr(
      `dr lab ${action}: ${err instanceof DrError || err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
}
