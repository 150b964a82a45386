/**
 * HealthProvider: each region's health endpoint as users see it (`regions.<region>.healthUrl`),
 * requested like the verification's HTTP checks (runHttpCheck: a timeout per attempt, a few
 * retries, the status and how long it took), any 2xx counting as healthy, as detection's probes do.
 *
 * - Failback's first step (verify-primary) requires the primary's to answer before anything moves.
 * - Preflight asks about the target region's: for a failover the secondary answers before users
 *   are sent there; one that does not is a warning on the approval card, not a block, since a
 *   standby may report unhealthy until it is promoted and scaled (a person decides).
 *
 * Options: primaryUrl?, secondaryUrl? (either may be absent), retryDelayMs (default 1000),
 * timeoutSeconds (default 5), log.
 */
import type { Logger } from 'pino';
import type { CheckResult, ComponentReadiness, RegionRole } from '../domain/types.js';
import type { HealthProvider, Progress } from './types.js';
import { runHttpCheck } from './verification.js';

interface HealthProviderOptions {
  primaryUrl?: string;
  secondaryUrl?: string;
  retryDelayMs?: number;
  timeoutSeconds?: number;
  log: Logger;
}

const NAME = 'health';
/** Preflight runs while people wait (and during an outage): fewer retries than a step's check. */
const READINESS_RETRIES = 1;
const STEP_RETRIES = 3;

export function createHealthProvider(opts: HealthProviderOptions): HealthProvider {
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const timeoutSeconds = opts.timeoutSeconds ?? 5;
  const urlOf = (region: RegionRole): string | null =>
    (region === 'primary' ? opts.primaryUrl : opts.secondaryUrl) ?? null;

  async function check(region: RegionRole, retries: number): Promise<CheckResult | null> {
    const url = urlOf(region);
    if (!url) return null;
    const r = await runHttpCheck(
      { name: `${region} health endpoint`, url, expectStatus: '2xx', timeoutSeconds, retries },
      retryDelayMs,
    );
    opts.log.info({ region, ok: r.ok, durationMs: r.durationMs }, 'health endpoint checked');
    return r;
  }

  return {
    name: NAME,

    url: urlOf,

    async probe(region: RegionRole, progress?: Progress): Promise<CheckResult | null> {
      const r = await check(region, STEP_RETRIES);
      if (r) progress?.(`${r.ok ? '✓' : '✗'} ${r.name}: ${r.detail}`);
      return r;
    },

    async readiness(target: RegionRole): Promise<ComponentReadiness> {
      const url = urlOf(target);
      // The URL, never the answer: a flapping endpoint must not invalidate approvals.
      const planFacts = { region: target, url };
      if (!url) {
        return {
          component: 'health',
          status: 'not-configured',
          summary: `no regions.${target}.healthUrl`,
          details: {},
          planFacts,
        };
      }
      const r = (await check(target, READINESS_RETRIES))!;
      const details = { url, ok: r.ok, detail: r.detail, durationMs: r.durationMs ?? null };
      if (r.ok)
        return {
          component: 'health',
          status: 'ready',
          summary: `the ${target}'s health endpoint answers: ${r.detail}`,
          details,
          planFacts,
        };
      const consequence =
        target === 'secondary'
          ? 'users sent there may get errors: check the secondary before approving'
          : "failback's first step (verify primary region) stops until it answers";
      return {
        component: 'health',
        status: 'warning',
        summary: `the ${target}'s health endpoint does not answer: ${r.detail}`,
        details,
        planFacts,
        warnings: [
          `the ${target}'s health endpoint ${url} does not answer with a 2xx: ${consequence}`,
        ],
      };
    },

    async close() {},
  };
}
