/**
 * The health Route 53 sees for each failover record (its health check's status, or the health of
 * an alias target it evaluates), and which record it answers from that, as AWS documents it.
 */
import {
  GetHealthCheckCommand,
  GetHealthCheckStatusCommand,
  type HealthCheck,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { call, type Route53Context } from './context.js';

export interface RecordHealth {
  state: 'healthy' | 'unhealthy' | 'unknown';
  why: string;
}

/** Health checks that probe an endpoint, whose status GetHealthCheckStatus reports. */
export const ENDPOINT_CHECK_TYPES = new Set([
  'HTTP',
  'HTTPS',
  'HTTP_STR_MATCH',
  'HTTPS_STR_MATCH',
  'TCP',
]);

/**
 * "How Route 53 determines whether a health check is healthy": the endpoint is healthy when more
 * than 18% of the checkers report it healthy.
 */
const HEALTHY_SHARE = 0.18;

async function endpointStatus(ctx: Route53Context, id: string): Promise<RecordHealth> {
  const out = await call(ctx, `reading the status of health check ${id}`, () =>
    ctx.client.send(new GetHealthCheckStatusCommand({ HealthCheckId: id })),
  );
  const obs = out.HealthCheckObservations ?? [];
  if (obs.length === 0)
    return { state: 'unknown', why: `health check ${id}: no checker reports a status yet` };
  const passing = obs.filter((o) => o.StatusReport?.Status?.startsWith('Success')).length;
  const failing = obs.find((o) => !o.StatusReport?.Status?.startsWith('Success'));
  const healthy = passing / obs.length > HEALTHY_SHARE;
  return {
    state: healthy ? 'healthy' : 'unhealthy',
    why: `health check ${id}: ${passing} of ${obs.length} checkers report success${healthy ? '' : ` (${failing?.StatusReport?.Status ?? 'failure'})`}`,
  };
}

/** A check's status as Route 53 routes on it: Disabled counts as healthy, Inverted flips that. */
async function checkHealth(
  ctx: Route53Context,
  id: string,
  seen: Map<string, HealthCheck>,
): Promise<RecordHealth> {
  const hc =
    seen.get(id) ??
    (
      await call(ctx, `reading health check ${id}`, () =>
        ctx.client.send(new GetHealthCheckCommand({ HealthCheckId: id })),
      )
    ).HealthCheck;
  if (hc) seen.set(id, hc);
  const cfg = hc?.HealthCheckConfig;
  const flip = (h: RecordHealth): RecordHealth =>
    cfg?.Inverted !== true || h.state === 'unknown'
      ? h
      : {
          state: h.state === 'healthy' ? 'unhealthy' : 'healthy',
          why: `${h.why}, inverted`,
        };
  if (cfg?.Disabled === true)
    return flip({ state: 'healthy', why: `health check ${id} is disabled (counts as healthy)` });
  if (!cfg?.Type || !ENDPOINT_CHECK_TYPES.has(cfg.Type))
    return {
      state: 'unknown',
      why: `health check ${id} is of type ${cfg?.Type ?? '?'}, whose status GetHealthCheckStatus does not report`,
    };
  return flip(await endpointStatus(ctx, id));
}

/**
 * "How Amazon Route 53 chooses records when health checking is configured": a record's health
 * check must pass; an alias with EvaluateTargetHealth inherits its target's health, which the
 * Route 53 API does not report (an ELB's targets); a record with neither is always healthy.
 */
export async function recordHealth(
  ctx: Route53Context,
  rec: ResourceRecordSet,
  seen: Map<string, HealthCheck>,
): Promise<RecordHealth> {
  let own: RecordHealth | undefined;
  if (rec.HealthCheckId) {
    try {
      own = await checkHealth(ctx, rec.HealthCheckId, seen);
    } catch (err) {
      own = { state: 'unknown', why: errorInfo(err).message.replace(/\.$/, '') };
    }
    if (own.state === 'unhealthy') return own;
  }
  if (rec.AliasTarget?.EvaluateTargetHealth)
    return {
      state: 'unknown',
      why: `${own ? `${own.why}; ` : ''}the alias to ${rec.AliasTarget.DNSName} also inherits its target's health, which the Route 53 API does not report`,
    };
  return own ?? { state: 'healthy', why: 'no health check: Route 53 counts the record healthy' };
}

/**
 * The record set Route 53 answers, by the same page's rules: the PRIMARY while healthy, else a
 * healthy SECONDARY, else (no record healthy, so all count as healthy) the PRIMARY again.
 */
export function answeringRecord(
  records: Record<RegionRole, ResourceRecordSet>,
  health: Record<RegionRole, RecordHealth>,
): RegionRole | 'unknown' {
  const first: RegionRole = records.secondary.Failover === 'PRIMARY' ? 'secondary' : 'primary';
  const second: RegionRole = first === 'primary' ? 'secondary' : 'primary';
  if (health[first].state === 'healthy') return first;
  if (health[first].state === 'unknown') return 'unknown';
  if (health[second].state === 'healthy') return second;
  return health[second].state === 'unhealthy' ? first : 'unknown';
}

/**
 * The health of the region a switch sends users to, as Route 53 will see it after the switch:
 * unknown for the primary while dr-bot's pin disables its check (a disabled check is not probed).
 */
export function targetHealth(
  ctx: Route53Context,
  health: Record<RegionRole, RecordHealth>,
  pinned: boolean,
  target: RegionRole,
): RecordHealth {
  if (ctx.method === 'invert-health-check' && target === 'primary' && pinned)
    return {
      state: 'unknown',
      why: "the primary's health check is disabled by the pin, so Route 53 does not probe its endpoint until the switch releases it",
    };
  return health[target];
}

/** Why a switch to an unhealthy region is refused, and the two ways on. */
export function unhealthyTargetText(target: RegionRole, h: RecordHealth): string {
  const other = target === 'primary' ? 'secondary' : 'primary';
  return `${target} unhealthy: Route 53 would keep answering the ${other} (${h.why}). Make the ${target}'s endpoint pass its health check, or set components.dns.route53.allowUnhealthyTarget to switch anyway. Nothing was changed.`;
}
