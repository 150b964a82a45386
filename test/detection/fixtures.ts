/**
 * Alertmanager webhook payloads (version 4) as Alertmanager sends them, and a local health
 * endpoint that tests stop and start to stand in for the primary region going away.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PRIMARY = 'eu-west-1';
export const SECONDARY = 'eu-central-1';

interface AlertInput {
  fingerprint: string;
  service?: string;
  status?: 'firing' | 'resolved';
  region?: string;
  alertname?: string;
}

export function alert(a: AlertInput): Record<string, unknown> {
  const status = a.status ?? 'firing';
  const service = a.service ?? `svc-${a.fingerprint}`;
  return {
    status,
    labels: {
      alertname: a.alertname ?? 'ServiceDown',
      region: a.region ?? PRIMARY,
      service,
      severity: 'critical',
    },
    annotations: {
      summary: `${service} does not answer`,
      runbook_url: 'https://runbooks.example/service-down',
    },
    startsAt: '2026-11-25T21:59:30.123Z',
    endsAt: status === 'resolved' ? '2026-11-25T22:04:30.123Z' : '0001-01-01T00:00:00Z',
    generatorURL: `http://prometheus:9090/graph?g0.expr=up%7Bservice%3D%22${service}%22%7D+%3D%3D+0`,
    fingerprint: a.fingerprint,
  };
}

export function payload(alerts: Record<string, unknown>[]): Record<string, unknown> {
  return {
    version: '4',
    groupKey: '{}:{alertname="ServiceDown"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'dr-bot',
    groupLabels: { alertname: 'ServiceDown' },
    commonLabels: { alertname: 'ServiceDown', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  };
}

export async function postAlerts(
  baseUrl: string,
  body: unknown,
  opts: { token?: string | null; raw?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token !== null && opts.token !== undefined)
    headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${baseUrl}/webhooks/alertmanager`, {
    method: 'POST',
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

/** A health endpoint on a fixed port: `stop()` makes it unreachable, `start()` brings it back. */
export interface HealthEndpoint {
  url: string;
  /** 'ok' answers 200, 'error' 503, 'hang' never answers. */
  mode: 'ok' | 'error' | 'hang';
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHealthEndpoint(): Promise<HealthEndpoint> {
  let server: Server | null = null;
  let port = 0;
  const ep: HealthEndpoint = {
    url: '',
    mode: 'ok',
    async start() {
      const s = createServer((req, res) => {
        if (ep.mode === 'hang') return;
        res.writeHead(ep.mode === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: ep.mode === 'ok' }));
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      port = (s.address() as AddressInfo).port;
      ep.url = `http://127.0.0.1:${port}/healthz`;
      server = s;
    },
    async stop() {
      const s = server;
      server = null;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await ep.start();
  return ep;
}
