/**
 * The detection and readiness phase of `dr start`: the detector that proposes a failover (only
 * with a detection section in the config) and the readiness monitor. Created here, started
 * after the bot (app/slack.ts).
 */
import type { SlackClient } from '../bot/index.js';
import type { Detector } from '../detection/index.js';
import type { Providers } from '../providers/types.js';
import type { ReadinessMonitor } from '../readiness/index.js';
import type { OperationStore } from '../store/types.js';
import type { StartContext } from './context.js';

/** The detector, or undefined when the config has no detection section. */
export function openDetector(ctx: StartContext, providers: Providers): Detector | undefined {
  const { config, runtime, log, cleanups, modules } = ctx;
  const { createDetector, detectionSettings } = modules.detection;
  if (!config.detection) return undefined;
  const { settings, probe } = detectionSettings(config);
  const detectionStore = modules.store.createDetectionStore({
    url: runtime.redisUrl,
    environment: config.environment,
  });
  cleanups.push(() => detectionStore.close());
  // Read-only: the same preflight a failover request runs, so the card shows what approvers will see.
  const readiness = () =>
    modules.engine.runPreflight(providers, { kind: 'failover', requestedMode: 'auto' }, Date.now);
  // Evidence only; read on its own timer so a slow status API never delays the probes.
  const providerStatus = modules.providers.createProviderStatusReader(config);
  return createDetector({
    settings,
    probe,
    store: detectionStore,
    readiness,
    log,
    ...(providerStatus ? { providerStatus } : {}),
  });
}

export function openReadinessMonitor(
  ctx: StartContext,
  deps: { store: OperationStore; providers: Providers; slackClient: SlackClient },
): ReadinessMonitor {
  const { config, runtime, env, log, cleanups } = ctx;
  const { store, providers, slackClient } = deps;
  const { createReadinessChecks, createReadinessMonitor, createReadinessState } =
    ctx.modules.readiness;
  const { createReadinessNotifier } = ctx.modules.bot;
  // Readiness keeps its alert state beside the operations, so a restart does not repeat an alert.
  const readinessState = createReadinessState({ url: runtime.redisUrl });
  cleanups.push(() => readinessState.close());
  const readinessChecks = createReadinessChecks({
    config,
    providers,
    env,
    drills: readinessState,
  });
  cleanups.push(() => readinessChecks.close());
  return createReadinessMonitor({
    env: config.environment,
    checks: readinessChecks.checks,
    state: readinessState,
    notify: createReadinessNotifier({
      client: slackClient,
      channel: config.slack.incidentChannel,
      command: config.slack.command,
      log: log.child({ component: 'readiness' }),
    }),
    intervalMs: config.readiness.intervalMinutes * 60_000,
    // Mid-operation results show the failover half done: recorded, not posted.
    activeOperation: () => store.activeFor(config.environment),
    log: log.child({ component: 'readiness' }),
    onReport: (report) => ctx.metrics.readiness(report),
  });
}
