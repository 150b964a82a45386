/**
 * The Terraform state row on the approval card: the readiness check read for the card. Not ok is
 * a warning, not a block: the switch itself does not apply Terraform, the apply after it does.
 */
import type { ComponentReadiness } from '../domain/types.js';
import type { Inspectable } from '../providers/types.js';
import type { ReadinessCheck } from './types.js';

export function terraformStateCard(check: ReadinessCheck, close: () => Promise<void>): Inspectable {
  return {
    name: 'terraform-state',
    async readiness(): Promise<ComponentReadiness> {
      const f = await check.run();
      const ok = f.status === 'ok';
      return {
        component: 'terraform-state',
        status: ok ? 'ready' : 'warning',
        summary: f.measured ?? f.detail,
        details: { measured: f.measured, target: f.target },
        planFacts: { status: f.status },
        ...(ok ? {} : { warnings: [`Terraform state: ${f.detail}`] }),
      };
    },
    close,
  };
}
