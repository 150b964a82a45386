/**
 * Prometheus Alertmanager's webhook payload (version 4), validated, and the filter that keeps
 * only the alerts detection cares about: the configured alert name for the primary region.
 */
import { z } from 'zod';
import type { DetectionSettings, IncomingAlert } from './types.js';

const labels = z.record(z.string(), z.string());

const alert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z
    .string()
    .min(1, 'every alert needs its fingerprint (Alertmanager sends one since 0.19)'),
});

export const alertmanagerPayload = z.object({
  version: z.literal('4', {
    message: 'only Alertmanager webhook payload version "4" is understood',
  }),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  groupLabels: labels.optional(),
  commonLabels: labels.optional(),
  commonAnnotations: labels.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(alert),
});

export type AlertmanagerPayload = z.output<typeof alertmanagerPayload>;

export type ParsedPayload =
  { ok: true; payload: AlertmanagerPayload } | { ok: false; reason: string };

/** Validate a decoded JSON body; the reason names the first problems by path. */
export function parseAlertmanagerPayload(body: unknown): ParsedPayload {
  const res = alertmanagerPayload.safeParse(body);
  if (res.success) return { ok: true, payload: res.data };
  const reason = res.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason: `not an Alertmanager webhook payload (version 4): ${reason}` };
}

/**
 * The alerts that count: the configured alert name for the primary region. An alert's own status
 * wins over the group's (a group can be "firing" while some of its alerts are resolved).
 */
export function relevantAlerts(
  payload: AlertmanagerPayload,
  s: DetectionSettings,
): IncomingAlert[] {
  return payload.alerts
    .filter((a) => a.labels.alertname === s.alertName && a.labels[s.regionLabel] === s.region)
    .map((a) => ({
      fingerprint: a.fingerprint,
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      ...(a.endsAt ? { endsAt: a.endsAt } : {}),
    }));
}
