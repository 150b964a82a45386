/**
 * The regions' health endpoints (regions.*.healthUrl) against a real HTTP server: what failback's
 * verify-primary requires and what the preflight warns about.
 */
import pino from 'pino';
import {
  json,
  startHealthServer,
  startHttpSim,
  type HealthServer,
  type HttpSim,
} from '../../src/lab/simulators/index.js';
import { createHealthProvider } from '../../src/providers/health.js';

const log = pino({ level: 'silent' });
let primary: HealthServer;
let secondary: HealthServer;
let noContent: HttpSim;

beforeAll(async () => {
  primary = await startHealthServer({ region: 'primary' });
  secondary = await startHealthServer({ region: 'secondary' });
  noContent = await startHttpSim(() => json(204, {}));
});

afterAll(async () => {
  await Promise.all([primary.stop(), secondary.stop(), noContent.close()]);
});

const provider = (urls: { primaryUrl?: string; secondaryUrl?: string }) =>
  createHealthProvider({ ...urls, retryDelayMs: 5, timeoutSeconds: 1, log });

test('probe: a healthy endpoint passes with status and timing, any 2xx counts, a failing one fails after the retries', async () => {
  const h = provider({ primaryUrl: primary.url, secondaryUrl: `${noContent.url}/healthz` });
  const progress: string[] = [];
  expect(await h.probe('primary', (m) => progress.push(m))).toMatchObject({
    name: 'primary health endpoint',
    kind: 'http',
    ok: true,
    detail: expect.stringMatching(/→ 200 in \d+ ms$/),
  });
  expect(progress).toEqual([expect.stringMatching(/^✓ primary health endpoint: /)]);
  expect(await h.probe('secondary')).toMatchObject({
    ok: true,
    detail: expect.stringMatching(/→ 204 in/),
  });

  primary.setHealthy(false);
  try {
    const before = primary.requests.length;
    const r = await h.probe('primary');
    expect(r).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/503 \(expected 2xx\).*\(4 attempts\)$/),
    });
    expect(primary.requests.length - before).toBe(4);
  } finally {
    primary.setHealthy(true);
  }
});

test('probe: a region without a URL has nothing to probe; a refused connection fails', async () => {
  const h = provider({ secondaryUrl: secondary.url });
  expect(h.url('primary')).toBeNull();
  expect(await h.probe('primary')).toBeNull();
  await secondary.stop();
  try {
    expect(await h.probe('secondary')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('request failed: ECONNREFUSED'),
    });
  } finally {
    await secondary.start();
  }
});

test('readiness: the target answering is ready; not answering is a warning saying what it means; no URL is not configured', async () => {
  const h = provider({ primaryUrl: primary.url, secondaryUrl: secondary.url });
  const ok = await h.readiness('secondary');
  expect(ok).toMatchObject({
    component: 'health',
    status: 'ready',
    planFacts: { region: 'secondary', url: secondary.url },
  });
  expect(ok.summary).toMatch(/^the secondary's health endpoint answers: .* → 200 in \d+ ms$/);

  secondary.setHealthy(false);
  try {
    const down = await h.readiness('secondary');
    expect(down).toMatchObject({ status: 'warning', planFacts: ok.planFacts });
    expect(down.warnings).toEqual([
      `the secondary's health endpoint ${secondary.url} does not answer with a 2xx: users sent there may get errors: check the secondary before approving`,
    ]);
  } finally {
    secondary.setHealthy(true);
  }
  primary.setHealthy(false);
  try {
    expect((await h.readiness('primary')).warnings?.[0]).toMatch(
      /verify primary region\) stops until it answers$/,
    );
  } finally {
    primary.setHealthy(true);
  }
  expect(await provider({ primaryUrl: primary.url }).readiness('secondary')).toMatchObject({
    status: 'not-configured',
    summary: 'no regions.secondary.healthUrl',
  });
});
