import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Engine } from '../engine/types.js';
import { createReportStore, type DrillTargets } from '../report/index.js';
import { createDrillReporter, type DrillReporter } from './reporter.js';

/**
 * The drill reporter on its own connection to the bot's state Redis (reports live beside the
 * operations, same `dr:` prefix). `close()` waits for a report being stored.
 */
export function openDrillReporter(opts: { engine: Engine; redisUrl: string; targets: DrillTargets; log: Logger; prefix?: string }): {
  reporter: DrillReporter;
  close(): Promise<void>;
} {
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  // Failures reach the reporter through the command that failed; no reconnect noise on stderr.
  redis.on('error', () => undefined);
  const reporter = createDrillReporter({
    engine: opts.engine,
    reports: createReportStore({ redis, ...(opts.prefix ? { prefix: opts.prefix } : {}) }),
    targets: opts.targets,
    log: opts.log,
  });
  return {
    reporter,
    async close() {
      reporter.stop();
      await reporter.idle();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
