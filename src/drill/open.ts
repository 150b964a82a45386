import { openStateRedis } from '../store/state-redis.js';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { Engine } from '../engine/types.js';
import type { ClusterProvider } from '../providers/types.js';
import { terraformCheckFromConfig } from '../readiness/build.js';
import { standbyCostCheck } from '../readiness/standby-cost.js';
import { createReportStore, type DrillTargets } from '../report/index.js';
import { drillMeasuresFromConfig } from './measures.js';
import { createDrillReporter, type DrillReporter } from './reporter.js';

/**
 * The drill reporter on its own connection to the bot's state Redis (reports live beside the
 * operations, same `dr:` prefix). With `config` it also measures object storage and the
 * Kubernetes state during drills (its own canary client and Velero reader), and reads the
 * Terraform state when the report is built; with `cluster`, whether the standby is back at its
 * standby counts then. `close()` waits for a report being stored.
 */
export function openDrillReporter(opts: {
  engine: Engine;
  /** The engine's environment (`config.environment`). */
  environment: string;
  redisUrl: string;
  targets: DrillTargets;
  log: Logger;
  prefix?: string;
  config?: DrConfig;
  /** Where object-storage connection strings are read (components.objectStorage.*.connectionStringEnv). */
  env?: NodeJS.ProcessEnv;
  /** The clusters, read after the failback for the standby footprint. */
  cluster?: ClusterProvider;
}): {
  reporter: DrillReporter;
  close(): Promise<void>;
} {
  // Built first: a connection string that is not set throws before anything is opened.
  const measures = opts.config
    ? drillMeasuresFromConfig(opts.config, opts.env ?? process.env)
    : undefined;
  const terraform = opts.config
    ? terraformCheckFromConfig(opts.config, opts.env ?? process.env)
    : undefined;
  const afterDrill = [
    ...(opts.cluster ? [standbyCostCheck(opts.cluster)] : []),
    ...(terraform ? [terraform.check] : []),
  ];
  const redis = openStateRedis(opts.redisUrl, { maxRetriesPerRequest: 3 });
  // Failures reach the reporter through the command that failed; no reconnect noise on stderr.
  redis.on('error', () => undefined);
  const reporter = createDrillReporter({
    engine: opts.engine,
    environment: opts.environment,
    reports: createReportStore({ redis, ...(opts.prefix ? { prefix: opts.prefix } : {}) }),
    targets: opts.targets,
    log: opts.log,
    ...(measures ? { measures } : {}),
    afterDrill,
  });
  return {
    reporter,
    async close() {
      reporter.stop();
      await reporter.idle();
      await measures?.close().catch(() => undefined);
      await terraform?.close().catch(() => undefined);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
