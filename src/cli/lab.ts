/**
 * `dr lab up|down|status`: thin wrappers over src/lab that print what a person needs next.
 * src/lab is imported lazily so the rest of the CLI does not load process management and simulators.
 */
import { DrError } from '../errors.js';
import type { CloudState, LabCloud, LabInfo, LabStatus } from '../lab/index.js';
import type { CliIo } from './io.js';

export type LabAction = 'up' | 'down' | 'status';
/** One fixed place by default, so `dr lab status` and `dr lab down` find what `dr lab up` started. */
export const DEFAULT_LAB_DIR = './.lab';

function describeCloud(cloud: LabCloud): string[] {
  return [
    `  route53 API         ${cloud.route53.url} (zone ${cloud.route53.zoneId}, ${cloud.route53.recordName}; DNS server ${cloud.route53.dnsServer})`,
    `  kubernetes primary  ${cloud.kubernetes.primary.url} (context ${cloud.kubernetes.primary.context})`,
    `  kubernetes second.  ${cloud.kubernetes.secondary.url} (context ${cloud.kubernetes.secondary.context}; kubeconfig ${cloud.kubernetes.kubeconfigPath})`,
    `  health primary      ${cloud.health.primaryUrl}`,
    `  health secondary    ${cloud.health.secondaryUrl}`,
    `  traffic manager     ${cloud.trafficManager.url} (not used by the lab config: it fails DNS over with Route 53)`,
    `  simulator control   ${cloud.controlUrl} (GET /state; POST /health/{primary|secondary}/{down|up|stop|start})`,
  ];
}

function describeUp(info: LabInfo, cloud: LabCloud | undefined): string {
  const lines = [
    `lab running in ${info.dir} (servers run as ${info.user})`,
    `  postgres primary    ${info.postgres.primary.url}`,
    `  postgres secondary  ${info.postgres.secondary.url} (streaming standby, ${info.postgres.version})`,
    `  redis primary       ${info.redis.primary.url}`,
    `  redis secondary     ${info.redis.secondary.url} (replica, Redis ${info.redis.version})`,
    `  bot state redis     ${info.stateRedis.url} (the bot's own store: REDIS_URL)`,
    ...(cloud
      ? describeCloud(cloud)
      : Object.entries(info.simulators).map(([name, sim]) => `  ${name.padEnd(19)} ${sim.url}`)),
    `bot config: ${info.configPath}`,
    `bot environment: ${info.envFile} (REDIS_URL, DR_CONFIG and the dummy AWS credentials for the simulators)`,
    'run the bot against it:',
    `  . ${info.envFile}`,
    '  export SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=…   # SLACK_API_URL optional (a Web API stand-in)',
    `  dr start --config ${info.configPath}`,
    `check: dr config check --config ${info.configPath}    state: dr lab status --dir ${info.dir}`,
    `stop: dr lab down --dir ${info.dir}`,
  ];
  return lines.join('\n');
}

function workloadsLine(ws: CloudState['kubernetes']['primary']): string {
  return ws.map((w) => `${w.namespace}/${w.name} ${w.readyReplicas ?? '?'}/${w.replicas ?? '?'}`).join(', ');
}

function describeCloudState(cloud: CloudState | { error: string }): string[] {
  if ('error' in cloud) return [`  ${'simulators'.padEnd(19)} DOWN (${cloud.error})`];
  const health = (h: { healthy: boolean; running: boolean }): string => (!h.running ? 'stopped (refuses connections)' : h.healthy ? 'healthy' : 'unhealthy (503)');
  const { primaryHealthCheckInverted: inverted, primaryHealthCheckDisabled: disabled } = cloud.route53;
  // Disabled+Inverted is what a failover sets: the check reads unhealthy whatever the endpoint does.
  const check =
    inverted === null
      ? ''
      : inverted && disabled
        ? ', primary health check pinned unhealthy (disabled + inverted)'
        : inverted || disabled
          ? `, primary health check half switched (${inverted ? 'inverted' : 'disabled'} only)`
          : ', primary health check normal';
  return [
    `  dns (route53)       serving ${cloud.route53.servedBy} (${cloud.route53.answer.join(', ') || 'no answer'})${check}`,
    `  health endpoints    primary ${health(cloud.health.primary)}, secondary ${health(cloud.health.secondary)}`,
    `  kubernetes primary  ready/desired ${workloadsLine(cloud.kubernetes.primary)}`,
    `  kubernetes second.  ready/desired ${workloadsLine(cloud.kubernetes.secondary)}`,
  ];
}

function describeStatus(status: LabStatus): string {
  const lines = [`lab in ${status.dir} (bot config ${status.configPath})`];
  const lag = (bytes: number | null | undefined): string => (bytes === undefined || bytes === null ? '' : `, lag ${bytes} B`);
  for (const pg of status.postgres) {
    lines.push(`  postgres ${pg.name.padEnd(14)} ${pg.healthy ? `up, ${pg.role ?? 'role unknown'}${lag(pg.lagBytes)}` : `DOWN${pg.error ? ` (${pg.error})` : ''}`}`);
  }
  for (const r of status.redis) {
    lines.push(`  redis    ${r.name.padEnd(14)} ${r.healthy ? `up, ${r.role ?? 'role unknown'}${lag(r.lagBytes)}` : `DOWN${r.error ? ` (${r.error})` : ''}`}`);
  }
  if (status.stateRedis) {
    const r = status.stateRedis;
    lines.push(`  bot state redis     ${r.healthy ? 'up' : `DOWN${r.error ? ` (${r.error})` : ''}`} ${r.url}`);
  }
  for (const s of status.simulators) {
    lines.push(`  ${s.name.padEnd(19)} ${s.running === false ? 'DOWN' : 'up'} ${s.url}`);
  }
  if (status.cloud) lines.push(...describeCloudState(status.cloud));
  if (status.envFile) lines.push(`bot environment: . ${status.envFile}`);
  return lines.join('\n');
}

export async function runLab(action: LabAction, opts: { dir?: string; io: CliIo }): Promise<number> {
  const { io } = opts;
  const dir = opts.dir ?? DEFAULT_LAB_DIR;
  try {
    const lab = await import('../lab/index.js');
    if (action === 'up') {
      const info = await lab.labUp({ dir });
      io.stdout(`${describeUp(info, lab.labCloud(info))}\n`);
    } else if (action === 'down') {
      await lab.labDown({ dir });
      io.stdout(`lab in ${dir} stopped and removed\n`);
    } else {
      io.stdout(`${describeStatus(await lab.labStatus({ dir }))}\n`);
    }
    return 0;
  } catch (err) {
    io.stderr(`dr lab ${action}: ${err instanceof DrError || err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
