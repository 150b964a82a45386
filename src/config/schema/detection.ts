/**
 * The `detection` section: when alerts and the bot's own probes propose a failover, and the
 * cloud's status signal shown beside them as evidence.
 */
import { z } from 'zod';
import { envName } from './fields.js';

/**
 * AWS Health events or Azure Resource Health for the primary region: one cloud, never both (the
 * primary region lives in one). Read every `intervalSeconds`.
 */
const providerStatus = z
  .object({
    aws: z
      .object({
        /** Region whose events count; default regions.primary.name. */
        region: z.string().min(1).optional(),
        /** AWS Health endpoint override (lab, tests); default the SDK's global endpoint. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    azure: z
      .object({
        subscriptionId: z.string().min(1),
        /** Resource whose availability counts; without it, every resource of the subscription in the primary's location. */
        resourceId: z
          .string()
          .regex(
            /^\/subscriptions\//,
            'a full ARM resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/...',
          )
          .optional(),
        /** ARM endpoint override (lab, tests); default https://management.azure.com. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    intervalSeconds: z.number().positive().default(60),
  })
  .strict()
  .refine((p) => (p.aws ? 1 : 0) + (p.azure ? 1 : 0) === 1, {
    message:
      'set exactly one of providerStatus.aws or providerStatus.azure (the primary region is in one cloud)',
  });

/**
 * Detection of a regional failure (alerts + the bot's own probes of the primary). Optional: without
 * it the bot neither listens for alerts nor probes.
 */
export const detection = z
  .object({
    /** Distinct firing alerts (by fingerprint) for the primary region needed within the window. */
    minAlerts: z.number().int().min(1).default(3),
    windowSeconds: z.number().int().positive().default(600),
    /** The alert name (label `alertname`) that counts, and the label that names the region. */
    alertName: z.string().min(1).default('ServiceDown'),
    regionLabel: z.string().min(1).default('region'),
    /** Health URLs of the primary to probe; default regions.primary.healthUrl. */
    probeUrls: z.array(z.string().url()).min(1).optional(),
    probeIntervalSeconds: z.number().positive().default(30),
    /** Failed probe rounds in a row needed (with the alerts) to propose a failover. */
    probeFailures: z.number().int().min(1).default(3),
    probeTimeoutSeconds: z.number().positive().default(5),
    /** Largest Alertmanager webhook body accepted. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
    /** Environment variable holding the webhook's bearer token. */
    tokenEnv: envName.default('DR_ALERTMANAGER_TOKEN'),
    /** The cloud's own status signal, shown on the card as evidence; it never opens or clears an episode. */
    providerStatus: providerStatus.optional(),
  })
  .strict()
  .refine((d) => d.probeTimeoutSeconds <= d.probeIntervalSeconds, {
    message:
      'probeTimeoutSeconds must not exceed probeIntervalSeconds (a probe round must end before the next starts)',
    path: ['probeTimeoutSeconds'],
  });
