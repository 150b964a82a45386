/**
 * The drill's RPO for the components no step fails over (DESIGN.md's replication table), measured
 * with the readiness checks themselves: object storage by the canary check while the secondary
 * serves, the Kubernetes state by the Velero check when the failover starts (the newest completed
 * backup is what a restore would bring back). Each reading becomes a DrillMeasure for the report.
 */
import type { DrConfig } from '../config/schema.js';
import { formatDuration } from '../domain/format.js';
import type { OperationView } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import {
  createObjectStorageFromConfig,
  objectStorageRpoSeconds,
  veleroCheckFromConfig,
} from '../readiness/build.js';
import { objectStorageCheck } from '../readiness/checks.js';
import type { ReadinessCheck } from '../readiness/types.js';
import type { DrillMeasure } from '../report/index.js';

/** When in a drill a measurer reads: at the final approval, or once the secondary serves (integration tests). */
export type DrillMoment = 'approved' | 'secondary-serving';

export interface DrillMeasurer {
  component: DrillMeasure['component'];
  when: DrillMoment;
  targetMinutes: number;
  measure(view: OperationView): Promise<DrillMeasure>;
}

export interface DrillMeasures {
  measurers: DrillMeasurer[];
  /** Rows for the components the config does not have. */
  notConfigured: DrillMeasure[];
  close(): Promise<void>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The canary check: its write-to-visible time, or none when the copy did not arrive within the target. */
export function objectStorageMeasurer(
  check: ReadinessCheck,
  targetSeconds: number,
  now: () => number = Date.now,
): DrillMeasurer {
  const targetMinutes = targetSeconds / 60;
  return {
    component: 'object-storage',
    when: 'secondary-serving',
    targetMinutes,
    async measure() {
      const at = now();
      try {
        const f = await check.run();
        const seconds = f.status === 'ok' ? num(f.evidence?.seconds) : null;
        return {
          component: 'object-storage',
          status: 'measured',
          seconds,
          targetMinutes,
          description: f.detail,
          at,
          ...(f.evidence ? { evidence: f.evidence } : {}),
        };
      } catch (err) {
        return {
          component: 'object-storage',
          status: 'failed',
          seconds: null,
          targetMinutes,
          description: `the canary check failed: ${errorInfo(err).message}`,
          at,
        };
      }
    },
  };
}

/** The Velero check: the age of the newest completed backup at the drill's final approval (the failover's start). */
export function kubernetesMeasurer(
  check: ReadinessCheck,
  targetMinutes: number,
  now: () => number = Date.now,
): DrillMeasurer {
  return {
    component: 'kubernetes',
    when: 'approved',
    targetMinutes,
    async measure(view) {
      const at = now();
      // Read when the final approval is announced, before the re-check sets approvedAt: that approval's click.
      const failoverAt = view.approvedAt ?? view.approvals.at(-1)?.at ?? at;
      const base = { component: 'kubernetes' as const, targetMinutes, at };
      try {
        const f = await check.run();
        const evidence = f.evidence ?? {};
        const completedAt =
          typeof evidence.completedAt === 'string' ? Date.parse(evidence.completedAt) : NaN;
        if (!Number.isFinite(completedAt))
          return { ...base, status: 'measured', seconds: null, description: f.detail, evidence };
        if (completedAt > failoverAt) {
          // Read late (a backup finished since the failover began): its age says nothing about then.
          return {
            ...base,
            status: 'failed',
            seconds: null,
            description: `the newest completed Velero backup ${String(evidence.newest)} finished after the failover began; its age then is unknown`,
            evidence,
          };
        }
        const seconds = Math.round((failoverAt - completedAt) / 1000);
        return {
          ...base,
          status: 'measured',
          seconds,
          description: `newest completed Velero backup ${String(evidence.newest)} finished ${formatDuration(seconds * 1000)} before the failover began (${new Date(completedAt).toISOString()}): a restore brings the cluster state back to then`,
          evidence: { ...evidence, failoverAt },
        };
      } catch (err) {
        return {
          ...base,
          status: 'failed',
          seconds: null,
          description: `the Velero backups could not be read: ${errorInfo(err).message}`,
        };
      }
    },
  };
}

function notConfigured(
  component: DrillMeasure['component'],
  targetMinutes: number,
  why: string,
): DrillMeasure {
  return { component, status: 'not-configured', seconds: null, targetMinutes, description: why };
}

/**
 * The measurers of a config. The canary gets its own key (`<canaryPrefix><environment>-drill`,
 * still under the prefix the replication rule covers), so the readiness monitor's canary, which
 * overwrites the environment's key every round, cannot replace it while the drill waits for it.
 */
export function drillMeasuresFromConfig(config: DrConfig, env: NodeJS.ProcessEnv): DrillMeasures {
  const measurers: DrillMeasurer[] = [];
  const missing: DrillMeasure[] = [];
  const storageTargetSeconds = objectStorageRpoSeconds(config);
  const storage = createObjectStorageFromConfig(
    { ...config, environment: `${config.environment}-drill` },
    env,
  );
  if (storage)
    measurers.push(
      objectStorageMeasurer(
        objectStorageCheck(storage, storageTargetSeconds),
        storageTargetSeconds,
      ),
    );
  else
    missing.push(
      notConfigured(
        'object-storage',
        storageTargetSeconds / 60,
        'not configured (no components.objectStorage): no replication measured',
      ),
    );

  const kubernetesTarget = config.targets.rpoMinutesByComponent.kubernetes;
  const velero = veleroCheckFromConfig(config);
  if (velero) measurers.push(kubernetesMeasurer(velero, kubernetesTarget));
  else {
    const why = config.components.kubernetes
      ? 'components.kubernetes.velero'
      : 'components.kubernetes';
    missing.push(
      notConfigured(
        'kubernetes',
        kubernetesTarget,
        `not configured (no ${why}): no Velero backups read`,
      ),
    );
  }
  return {
    measurers,
    notConfigured: missing,
    async close() {
      await storage?.close();
    },
  };
}
