// The team's own steps (config `runbook.steps`) as runbook steps, by the ids the runbooks name.
import type { DrConfig } from '../../config/schema.js';
import type { CustomStepId, Mode } from '../../domain/types.js';
import type { Step } from '../types.js';
import { commandStep } from './command.js';
import { httpStep } from './http.js';

export function customSteps(config: DrConfig): ReadonlyMap<CustomStepId, Step> {
  const steps = new Map<CustomStepId, Step>();
  for (const s of config.runbook.steps) {
    const id: CustomStepId = `custom:${s.id}`;
    const modes: readonly Mode[] = s.modes;
    const base = {
      id,
      title: s.title,
      skipWhen: (ctx: { mode: Mode }) =>
        modes.includes(ctx.mode) ? undefined : `runs only in ${modes.join(' and ')} operations`,
    };
    if (s.command) steps.set(id, commandStep(base, s.command));
    else if (s.http) steps.set(id, httpStep(base, s.http));
  }
  return steps;
}
