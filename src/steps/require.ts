import { PreconditionFailed } from '../errors.js';
import type { Providers } from '../providers/types.js';
import type { StepContext } from './types.js';

/** The engine only runs a step when one of its providers is configured; a missing one here is a wiring bug. */
export function requireProvider<K extends keyof Providers>(
  ctx: StepContext,
  key: K,
): NonNullable<Providers[K]> {
  const p = ctx.providers[key];
  if (!p)
    throw new PreconditionFailed(
      `${key} is not configured: add ${key === 'health' || key === 'customActions' ? '' : 'components.'}${configKey(key)} to the config or skip this step`,
    );
  return p as NonNullable<Providers[K]>;
}

function configKey(key: keyof Providers): string {
  if (key === 'health') return 'regions.<region>.healthUrl';
  return {
    database: 'postgres',
    cache: 'redis',
    dns: 'dns',
    cluster: 'kubernetes',
    verification: 'verification',
    writeLoad: 'postgres (or redis)',
    objectStorage: 'objectStorage',
    terraformState: 'terraformState',
    customActions: 'runbook.steps',
  }[key];
}
