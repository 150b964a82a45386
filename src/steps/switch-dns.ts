import { STEP_TITLES } from '../machine/runbook.js';
import { dnsCheck, dnsRun } from './dns.js';
import type { Step } from './types.js';

export const switchDns: Step = {
  id: 'switch-dns',
  title: STEP_TITLES['switch-dns'],
  needs: ['dns'],
  check: (ctx) => dnsCheck(ctx, 'secondary'),
  run: (ctx, progress) => dnsRun(ctx, 'secondary', progress),
};
