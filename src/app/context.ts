/**
 * What the start-up phases of `dr start` (src/app.ts) share: the checked config, environment and
 * log, the modules loaded once the config is valid, and the cleanups shutdown runs last-first.
 * Type-only imports, so loading the phases loads no Redis, Slack or cloud SDK.
 */
import type { Logger } from 'pino';
import type { checkStartEnvironment } from '../config/runtime.js';
import type { DrConfig } from '../config/schema.js';
import type { Metrics } from '../metrics/index.js';

export interface StartContext {
  config: DrConfig;
  env: NodeJS.ProcessEnv;
  runtime: ReturnType<typeof checkStartEnvironment>;
  log: Logger;
  modules: StartModules;
  /** GET /metrics, served by the standby server and then by the bot. */
  metrics: Metrics;
  /** The instance lease once created: the store's writes are fenced by its token. */
  lease?: import('../store/index.js').InstanceLease;
  /** Shutdown steps in the order their resources were opened (unwound in reverse). */
  cleanups: (() => Promise<void>)[];
}

/**
 * The modules behind the phases, loaded by src/app.ts only after the config and environment
 * passed (a bad config stops start-up before Slack, Redis and the cloud SDKs are even loaded).
 */
export interface StartModules {
  store: typeof import('../store/index.js');
  providers: typeof import('../providers/factory.js');
  engine: typeof import('../engine/index.js');
  bot: typeof import('../bot/index.js');
  detection: typeof import('../detection/index.js');
  readiness: typeof import('../readiness/index.js');
  drill: typeof import('../drill/index.js');
  metrics: typeof import('../metrics/index.js');
  Redis: typeof import('ioredis').Redis;
}

/** startApp stopped (its signal aborted) while it waited as a standby: nothing was started. */
export class StoppedWhileStandby extends Error {
  constructor() {
    super('stopped while standing by');
    this.name = 'StoppedWhileStandby';
  }
}
