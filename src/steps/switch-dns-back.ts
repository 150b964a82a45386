import { STEP_TITLES } from '../machine/runbook.js';
import { dnsCheck, dnsRun } from './dns.js';
import type { Step } from './types.js';

export const switchDnsBack: Step = {
  id: 'switch-dns-back',
  title: STEP_TITLES['switch-dns-back'],
  needs: ['dns'],
  check: (ctx) => dnsCheck(ctx, 'primary'),
  run: (ctx, progress) => dnsRun(ctx, 'primary', progress),
};
