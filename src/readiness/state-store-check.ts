// The bot's own state Redis as a readiness row: whether what it acknowledged survives a restart
// (AOF) and the loss of its server (replicas). `/dr status` always shows this row.
import type { Redis } from 'ioredis';
import {
  ALLOW_VOLATILE_ENV,
  describeDurability,
  durabilityProblem,
  readDurability,
} from '../store/durability.js';
import type { ReadinessCheck } from './types.js';

/** `volatileAllowed`: the lab opt-in (DR_ALLOW_VOLATILE_STATE) is set, so no AOF is accepted, and said. */
export function stateStoreCheck(redis: Redis, volatileOk: boolean): ReadinessCheck {
  const target = 'AOF on, a replica online';
  return {
    id: 'state-store',
    title: 'Bot state store',
    async run() {
      const d = await readDurability(redis);
      const measured = describeDurability(d);
      const evidence = {
        aof: d.aof,
        appendfsync: d.appendfsync ?? null,
        replicas: d.replicas,
        version: d.version,
      };
      const problem = durabilityProblem(d);
      if (problem && volatileOk && d.role === 'master')
        return {
          status: 'ok',
          detail: `it would forget its state on a restart: accepted for a lab by ${ALLOW_VOLATILE_ENV}=yes`,
          measured,
          target,
          evidence,
        };
      if (problem)
        return {
          status: 'degraded',
          detail: `the state Redis: ${problem}`,
          measured,
          target,
          evidence,
        };
      const detail =
        d.replicas > 0
          ? 'what it acknowledged survives a restart and the loss of its server'
          : 'what it acknowledged survives a restart; add a replica (Sentinel) to survive the loss of its server';
      return { status: 'ok', detail, measured, target, evidence };
    },
  };
}
