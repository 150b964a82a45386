/**
 * How long Route 53 takes to notice a failed region by itself, read from the health check of the
 * record that is PRIMARY now; readiness adds the TTL to it for the failover-time warning.
 */
import { GetHealthCheckCommand } from '@aws-sdk/client-route-53';
import { errorInfo } from '../../errors.js';
import type { FailoverDetection } from '../dns-resolve.js';
import { call, type Route53Context } from './context.js';
import { ENDPOINT_CHECK_TYPES } from './health.js';
import type { RoutingState } from './records.js';

/**
 * How long Route 53 takes to stop answering a failed region: the health check of the record that
 * is PRIMARY now must fail FailureThreshold checks in a row, one every RequestInterval seconds.
 */
export async function detection(ctx: Route53Context, st: RoutingState): Promise<FailoverDetection> {
  const active =
    st.records.secondary.Failover === 'PRIMARY' ? st.records.secondary : st.records.primary;
  const id = active.HealthCheckId;
  if (!id)
    return {
      known: false,
      why: `the PRIMARY record "${active.SetIdentifier}" has no health check, so Route 53 does not fail over by itself`,
    };
  let hc = st.checks.get(id);
  if (!hc) {
    try {
      hc = (
        await call(ctx, `reading health check ${id}`, () =>
          ctx.client.send(new GetHealthCheckCommand({ HealthCheckId: id })),
        )
      ).HealthCheck;
    } catch (err) {
      return {
        known: false,
        why: `health check ${id} could not be read: ${errorInfo(err).message.replace(/\.$/, '')}`,
      };
    }
  }
  const cfg = hc?.HealthCheckConfig;
  // Calculated, CloudWatch-alarm and recovery-control checks follow something else, on its own clock.
  if (!cfg?.Type || !ENDPOINT_CHECK_TYPES.has(cfg.Type))
    return {
      known: false,
      why: `health check ${id} is of type ${cfg?.Type ?? '?'}, whose status does not follow RequestInterval × FailureThreshold`,
    };
  if (cfg.RequestInterval === undefined || cfg.FailureThreshold === undefined)
    return {
      known: false,
      why: `health check ${id} reports no RequestInterval or FailureThreshold`,
    };
  return {
    known: true,
    seconds: cfg.RequestInterval * cfg.FailureThreshold,
    how: `health check ${cfg.FailureThreshold} × ${cfg.RequestInterval} s`,
    watcher: `health check ${id}`,
  };
}
