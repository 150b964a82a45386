/**
 * The detection section of the config, resolved against the regions: which region counts, which
 * URLs to probe. Fails with a ConfigError that says what to add when nothing can be probed.
 */
import type { DrConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { DetectionSettings } from './types.js';

type DetectionConfig = NonNullable<DrConfig['detection']>;

export function probeUrls(config: DrConfig): string[] {
  const d = config.detection;
  if (!d) return [];
  if (d.probeUrls && d.probeUrls.length > 0) return [...d.probeUrls];
  return config.regions.primary.healthUrl ? [config.regions.primary.healthUrl] : [];
}

export function detectionSettings(config: DrConfig): {
  settings: DetectionSettings;
  probe: { urls: string[]; intervalMs: number; timeoutMs: number };
  detection: DetectionConfig;
} {
  const d = config.detection;
  if (!d)
    throw new ConfigError('detection is not configured: add a `detection` section to the config');
  const urls = probeUrls(config);
  if (urls.length === 0) {
    throw new ConfigError(
      'detection: nothing to probe; set regions.primary.healthUrl or detection.probeUrls',
    );
  }
  return {
    settings: {
      region: config.regions.primary.name,
      alertName: d.alertName,
      regionLabel: d.regionLabel,
      minAlerts: d.minAlerts,
      windowMs: d.windowSeconds * 1000,
      probeFailures: d.probeFailures,
    },
    probe: {
      urls,
      intervalMs: d.probeIntervalSeconds * 1000,
      timeoutMs: d.probeTimeoutSeconds * 1000,
    },
    detection: d,
  };
}
