/**
 * The cloud simulators as a part of the default lab: one detached process (Route 53 with its DNS
 * server, Traffic Manager, a Kubernetes API per region, a health endpoint per region, the control
 * API; an ARC cluster with `--dns route53-arc`) recorded in lab.json as `simulators.cloud`, wired
 * into the bot config (DNS via Route 53 or its ARC routing controls, scaling, verification against
 * the secondary's health endpoint) and into lab.env (the dummy AWS credentials the SDK's chain
 * needs).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import type { LabInfo, LabPart, LabSimulatorInfo } from '../types.js';
import type { CloudState } from './control.js';
import { SIMULATORS_PID_FILE, spawnSimulators, type SpawnedSimulators } from './spawn.js';

/** The key of the simulator process in lab.json's `simulators`. */
const CLOUD_KEY = 'cloud';

export type LabCloud = SpawnedSimulators & LabSimulatorInfo;

/** The simulators of a lab started with them (the default), else undefined. */
export function labCloud(info: Pick<LabInfo, 'simulators'>): LabCloud | undefined {
  const c = info.simulators?.[CLOUD_KEY];
  return c && typeof c.controlUrl === 'string' ? (c as LabCloud) : undefined;
}

export function simulatorsPart(
  opts: {
    timeoutMs?: number;
    cloud?: 'aws' | 'azure';
    dns?: 'route53' | 'route53-arc';
    /** CloudNativePG in the Kubernetes simulators (`--postgres cloudnative-pg`). */
    cnpg?: boolean;
  } = {},
): LabPart {
  const cloudOf = (info: LabInfo): LabCloud => {
    const c = labCloud(info);
    // Only reachable if start() did not run: a bug in the lab, not the user's doing.
    if (!c) throw new ProviderError('lab', 'the simulators part was configured before it started');
    return c;
  };
  return {
    name: 'simulators',
    pidFile: (info) => join(info.dir, 'simulators', SIMULATORS_PID_FILE),
    async start(info) {
      const dir = join(info.dir, 'simulators');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const spawned = await spawnSimulators({
        dir,
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.cloud ? { cloud: opts.cloud } : {}),
        ...(opts.dns ? { dns: opts.dns } : {}),
        ...(opts.cnpg ? { cnpgLabDir: info.dir } : {}),
      });
      return { [CLOUD_KEY]: { ...spawned, url: spawned.controlUrl } };
    },
    configure(config, info) {
      const c = cloudOf(info);
      const components = (config.components ??= {});
      Object.assign(components, c.components);
      // Resolve the record through the simulator's own DNS server: the system resolver knows nothing of it.
      if (components.dns)
        components.dns.resolverServers = [
          c.azure ? c.trafficManager.dnsServer : c.route53.dnsServer,
        ];
      // The lab's Entra ID is a private authority with a self-signed certificate.
      if (c.azure)
        config.azure = { disableInstanceDiscovery: true, caFile: c.trafficManager.caPath };
      config.regions.primary.healthUrl = c.health.primaryUrl;
      config.regions.secondary.healthUrl = c.health.secondaryUrl;
    },
    env(info) {
      const c = cloudOf(info);
      return { ...c.env, AWS_ENDPOINT_URL_ROUTE_53: c.route53.url };
    },
  };
}

/** The simulators' state from their control API; the error text when they do not answer. */
export async function cloudState(
  cloud: Pick<LabCloud, 'controlUrl'>,
): Promise<CloudState | { error: string }> {
  try {
    const res = await fetch(`${cloud.controlUrl}/state`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return { error: `control API answered ${res.status}` };
    return (await res.json()) as CloudState;
  } catch (err) {
    // fetch says only "fetch failed"; the cause (ECONNREFUSED, a timeout) is what a person needs.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message;
    return {
      error: `${cloud.controlUrl} does not answer: ${err instanceof Error ? err.message : String(err)}${why ? ` (${why})` : ''}`,
    };
  }
}

/** Play a region's health endpoint going down (503) or coming back, through the control API. */
export async function setRegionHealth(
  cloud: Pick<LabCloud, 'controlUrl'>,
  region: 'primary' | 'secondary',
  action: 'down' | 'up' | 'stop' | 'start',
): Promise<void> {
  const res = await fetch(`${cloud.controlUrl}/health/${region}/${action}`, {
    method: 'POST',
    signal: AbortSignal.timeout(3000),
  });
  if (!res.ok)
    throw new ProviderError(
      'lab',
      `the simulators' control API refused ${action} for the ${region} health endpoint (${res.status}: ${await res.text()})`,
    );
}
