// The bot's own state Redis as a readiness row: whether what it acknowledged survives a restart
// (AOF) and the loss of its server (replicas). `/dr status` always shows this row.
import type { Redis } from 'ioredis';
import { describeDurability, durabilityProblem, readDurability } from '../store/durability.js';
import type { ReadinessCheck } from './types.js';

export function stateStoreCheck(redis: Redis): ReadinessCheck {
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
      if (problem)
        return {
          status: 'degraded',
          detail: `the state Redis: ${problem}`,
          measured,
          target,
          evidence,
        };
      return { status: 'ok', detail: measured, measured, target, evidence };
    },
  };
}
