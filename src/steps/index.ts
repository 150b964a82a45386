import type { StepId } from '../domain/types.js';
import { DrError } from '../errors.js';
import type { Providers } from '../providers/types.js';
import { demoteSecondary } from './demote-secondary.js';
import { promoteCache } from './promote-cache.js';
import { promoteDatabase } from './promote-database.js';
import { promotePrimary } from './promote-primary.js';
import { resyncCache } from './resync-cache.js';
import { resyncDatabase } from './resync-database.js';
import { runIntegrationTests } from './run-integration-tests.js';
import { scalePrimary } from './scale-primary.js';
import { scaleSecondary } from './scale-secondary.js';
import { scaleSecondaryDown } from './scale-secondary-down.js';
import { startWriteLoad } from './start-write-load.js';
import { stopWriteLoad } from './stop-write-load.js';
import { switchDns } from './switch-dns.js';
import { switchDnsBack } from './switch-dns-back.js';
import type { Step } from './types.js';
import { verifyConsistency } from './verify-consistency.js';
import { verifyPrimary } from './verify-primary.js';
import { verifyPrimaryServing } from './verify-primary-serving.js';
import { verifySecondary } from './verify-secondary.js';

export const STEPS: Readonly<Record<StepId, Step>> = Object.freeze({
  'promote-database': promoteDatabase,
  'promote-cache': promoteCache,
  'switch-dns': switchDns,
  'scale-secondary': scaleSecondary,
  'verify-secondary': verifySecondary,
  'verify-primary': verifyPrimary,
  'resync-database': resyncDatabase,
  'resync-cache': resyncCache,
  'verify-consistency': verifyConsistency,
  'scale-primary': scalePrimary,
  'promote-primary': promotePrimary,
  'switch-dns-back': switchDnsBack,
  'demote-secondary': demoteSecondary,
  'scale-secondary-down': scaleSecondaryDown,
  'verify-primary-serving': verifyPrimaryServing,
  'start-write-load': startWriteLoad,
  'run-integration-tests': runIntegrationTests,
  'stop-write-load': stopWriteLoad,
});

export function getStep(id: StepId): Step {
  const step = STEPS[id];
  if (!step)
    throw new DrError(
      'not-found',
      `unknown step id "${id}": the runbook names a step that has no implementation in src/steps`,
    );
  return step;
}

/** True when at least one provider the step uses is configured. */
export function isConfigured(step: Step, providers: Providers): boolean {
  return step.needs.some((k) => providers[k] !== undefined);
}

export type { Step, StepContext } from './types.js';
export { customSteps } from './custom/index.js';
