/**
 * Detection end to end: Alertmanager payloads over HTTP to the real Bolt app, the bot's probes of
 * a local health endpoint that the tests stop and start, the state in the real Redis, and the
 * proposal card as the fake Slack Web API received it.
 */
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { START_FAILOVER_ACTION } from '../../src/bot/proposal.js';
import { configSchema, type DrConfig } from '../../src/config/schema.js';
import { detectionKey } from '../../src/store/index.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';
import {
  PRIMARY,
  SECONDARY,
  alert,
  payload,
  postAlerts,
  startHealthEndpoint,
  type HealthEndpoint,
} from './fixtures.js';

const SECRET = 'test-signing-secret-detection';
const TOKEN = 'am-token-0123456789abcdef';
const CHANNEL = 'C0INCIDENT';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const ENV = 'detect';
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let redis: Redis;
let slack: FakeSlack;
let health: HealthEndpoint;
beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  health = await startHealthEndpoint();
});
afterAll(async () => {
  await health.stop();
  await slack.close();
  redis.disconnect();
});

function makeConfig(): DrConfig {
  return configSchema.parse({
    environment: ENV,
    regions: { primary: { name: PRIMARY, healthUrl: health.url }, secondary: { name: SECONDARY } },
    slack: { incidentChannel: CHANNEL },
    approvals: { approvers: [BOB], required: 1 },
    detection: {
      minAlerts: 3,
      windowSeconds: 600,
      probeFailures: 2,
      // The tests probe on demand (probeNow); the timer must not add rounds of its own.
      probeIntervalSeconds: 3600,
      probeTimeoutSeconds: 2,
      maxBodyBytes: 4096,
    },
  });
}

const harnesses: BotHarness[] = [];
async function start(prefix = uniquePrefix('detection-e2e')): Promise<BotHarness> {
  const h = await startBotHarness({
    slack,
    redis,
    config: makeConfig(),
    signingSecret: SECRET,
    prefix,
    log,
    env: { DR_ALERTMANAGER_TOKEN: TOKEN },
    detection: true,
  });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
  health.mode = 'ok';
  await health.start().catch(() => undefined);
});

function proposalCards(mark: number): ApiCall[] {
  return slack.calls
    .slice(mark)
    .filter(
      (c): c is ApiCall =>
        c.kind === 'api' &&
        c.method === 'chat.postMessage' &&
        !c.args.thread_ts &&
        String(c.args.text).includes('Regional failure suspected'),
    );
}

/** The card as Slack shows it now: its post or its last update. */
function cardNow(ts: string): ApiCall {
  const versions = slack
    .api()
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' && c.result.ts === ts) ||
        (c.method === 'chat.update' && c.args.ts === ts),
    );
  return versions[versions.length - 1]!;
}

function cardText(call: ApiCall): string {
  return JSON.stringify(call.args.blocks);
}

function startButton(call: ApiCall): string | undefined {
  const blocks = call.args.blocks as {
    type: string;
    elements?: { action_id?: string; value?: string }[];
  }[];
  return blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === START_FAILOVER_ACTION)
    ?.value;
}

async function ok(
  h: BotHarness,
  alerts: Record<string, unknown>[],
): Promise<Record<string, unknown>> {
  const res = await postAlerts(h.url, payload(alerts), { token: TOKEN });
  expect(res.status).toBe(200);
  await h.detector!.settled();
  return res.json!;
}

/** Stop the health endpoint and let the bot probe `n` times. */
async function failProbes(h: BotHarness, n: number): Promise<void> {
  await health.stop();
  for (let i = 0; i < n; i += 1) expect((await h.detector!.probeNow()).ok).toBe(false);
  await h.detector!.settled();
}

async function openEpisode(h: BotHarness): Promise<ApiCall> {
  await failProbes(h, 2);
  await ok(h, [
    alert({ fingerprint: 'a1' }),
    alert({ fingerprint: 'b2' }),
    alert({ fingerprint: 'c3' }),
  ]);
  return slack.waitFor(() => proposalCards(h.mark)[0], 'the proposal card');
}

async function statusAnswer(h: BotHarness): Promise<string> {
  const res = await h.command('status', ALICE);
  return h.answer(res.path);
}

test('below the thresholds nothing is posted; at both thresholds one card, updated by new alerts; other regions and duplicates do not count', async () => {
  const h = await start();
  await failProbes(h, 1);
  const first = await ok(h, [
    alert({ fingerprint: 'a1', service: 'checkout' }),
    alert({ fingerprint: 'b2', service: 'payments' }),
    alert({ fingerprint: 'z9', service: 'search', region: SECONDARY }),
    alert({ fingerprint: 'y8', service: 'batch', alertname: 'HighLatency' }),
  ]);
  expect(first).toMatchObject({ ok: true, accepted: 2, ignored: 2 });
  // Alertmanager re-sends the whole group: the same fingerprints are the same alerts.
  await ok(h, [
    alert({ fingerprint: 'a1', service: 'checkout' }),
    alert({ fingerprint: 'b2', service: 'payments' }),
  ]);
  await ok(h, [
    alert({ fingerprint: 'x7', region: SECONDARY }),
    alert({ fingerprint: 'w6', region: SECONDARY }),
    alert({ fingerprint: 'v5', region: SECONDARY }),
  ]);
  expect(proposalCards(h.mark)).toHaveLength(0);
  expect(await statusAnswer(h)).toContain('2/3 alerts firing within 600 s');

  // Three alerts, but the probes have failed only once: still no proposal.
  await ok(h, [alert({ fingerprint: 'c3', service: 'accounts' })]);
  expect(proposalCards(h.mark)).toHaveLength(0);
  expect(await statusAnswer(h)).toMatch(
    /no regional failure suspected in \*eu-west-1\*: 3\/3 alerts .* probes failed 1\/2 in a row/,
  );

  await failProbes(h, 1);
  const card = await slack.waitFor(() => proposalCards(h.mark)[0], 'the proposal card');
  expect(card.args.channel).toBe(CHANNEL);
  expect(card.args.text).toBe(`🚨 Regional failure suspected in ${PRIMARY}`);
  const text = cardText(card);
  for (const service of ['checkout', 'payments', 'accounts'])
    expect(text).toContain(`*${service}* — firing since`);
  expect(text).not.toContain('search');
  expect(text).toContain(`${health.url}: ECONNREFUSED`);
  expect(startButton(card)).toBeDefined();
  // Posted without waiting for the standby's preflight, which then fills the card in.
  expect(text).toContain('*Standby readiness:* checking…');
  const ts = String(card.result.ts);
  const withReadiness = await slack.waitFor(
    () => (cardText(cardNow(ts)).includes('a failover now would run') ? cardNow(ts) : null),
    'the standby readiness on the card',
  );
  expect(cardText(withReadiness)).toMatch(/✅ \*database\* \(ready\)/);
  expect(await statusAnswer(h)).toMatch(
    /🚨 regional failure suspected in \*eu-west-1\* \(episode eu-west-1-1\): 3\/3 alerts/,
  );

  await ok(h, [alert({ fingerprint: 'd4', service: 'ledger' })]);
  await slack.waitFor(
    () => cardText(cardNow(ts)).includes('*ledger*'),
    'the card to show the new alert',
  );
  expect(proposalCards(h.mark)).toHaveLength(1);
});

test('resolved alerts clear the episode and the card says so; signals back within the window edit the same card; probes answering again clear it', async () => {
  const h = await start();
  const card = await openEpisode(h);
  const ts = String(card.result.ts);
  await ok(h, [alert({ fingerprint: 'a1', status: 'resolved' })]);
  await slack.waitFor(
    () => String(cardNow(ts).args.text).startsWith('✅ Signals cleared'),
    'the card to say the signals cleared',
  );
  const cleared = cardText(cardNow(ts));
  expect(cleared).toContain('only 2 ServiceDown alerts still firing (threshold 3)');
  expect(startButton(cardNow(ts))).toBeUndefined();
  expect(await statusAnswer(h)).toContain('no regional failure suspected');

  // The region fails again minutes later: the same episode, the same card, edited.
  await ok(h, [alert({ fingerprint: 'e5' })]);
  await slack.waitFor(
    () =>
      String(cardNow(ts).args.text).startsWith('🚨') &&
      cardText(cardNow(ts)).includes('Signals returned')
        ? cardNow(ts)
        : null,
    'the same card to say the signals returned',
  );
  expect(cardText(cardNow(ts))).toContain('they had cleared at');
  expect(startButton(cardNow(ts))).toBeDefined();
  expect(await statusAnswer(h)).toContain('(episode eu-west-1-1)');

  // One probe answering is not enough to clear (probeFailures is 2); two in a row are.
  await health.start();
  expect((await h.detector!.probeNow()).ok).toBe(true);
  await h.detector!.settled();
  expect(await statusAnswer(h)).toContain(
    'regional failure suspected in *eu-west-1* (episode eu-west-1-1)',
  );
  expect((await h.detector!.probeNow()).ok).toBe(true);
  await h.detector!.settled();
  await slack.waitFor(
    () =>
      cardText(cardNow(ts)).includes(
        'the primary health endpoints answer again (2 probe rounds in a row)',
      ),
    'the card to clear again',
  );
  expect(proposalCards(h.mark)).toHaveLength(1);
});

test('a restarted bot keeps the episode and edits the same card instead of posting a second', async () => {
  const prefix = uniquePrefix('detection-e2e');
  const first = await start(prefix);
  const card = await openEpisode(first);
  await first.stop({ keepState: true });
  harnesses.splice(harnesses.indexOf(first), 1);

  const second = await start(prefix);
  expect(await statusAnswer(second)).toContain(
    'regional failure suspected in *eu-west-1* (episode eu-west-1-1)',
  );
  // A duplicate delivery and a new alert after the restart.
  await ok(second, [
    alert({ fingerprint: 'a1' }),
    alert({ fingerprint: 'f6', service: 'inventory' }),
  ]);
  const ts = String(card.result.ts);
  await slack.waitFor(
    () => cardText(cardNow(ts)).includes('*inventory*'),
    'the same card to show the new alert',
  );
  expect(proposalCards(first.mark)).toHaveLength(1);
});

test('Start failover requests a failover with the clicker as requester; approval still applies', async () => {
  const h = await start();
  const card = await openEpisode(h);
  const value = startButton(card)!;
  const click = await h.clickAction(START_FAILOVER_ACTION, value, ALICE);
  expect(click.status).toBe(200);
  expect(await h.answer(click.path)).toMatch(
    /^DR-\d{8}-\d{6} requested: the failover of \*detect\* runs after another approver approves it/,
  );
  const { active } = await h.engine.status();
  expect(active).toMatchObject({ kind: 'failover', requester: ALICE });
  expect(active!.reason).toContain(`regional failure suspected in ${PRIMARY}`);
  const ts = String(card.result.ts);
  await slack.waitFor(
    () => cardText(cardNow(ts)).includes(`${active!.id} requested by <@${ALICE}>`),
    'the proposal card to name the request',
  );
  expect(startButton(cardNow(ts))).toBeUndefined();
  // Detection proposes; nothing ran: the operation waits for another person.
  const op = await h.engine.get(active!.id);
  expect(['preflight', 'awaitingApproval']).toContain(op!.phase);
  expect(op!.steps.every((s) => s.status === 'pending')).toBe(true);
});

test('refused requests (token, JSON, schema, size) get 401/400 with the reason and store nothing', async () => {
  const h = await start();
  const key = detectionKey(h.prefix, ENV);
  const body = payload([
    alert({ fingerprint: 'a1' }),
    alert({ fingerprint: 'b2' }),
    alert({ fingerprint: 'c3' }),
  ]);

  const missing = await postAlerts(h.url, body, { token: null });
  expect(missing.status).toBe(401);
  expect(String(missing.json?.error)).toContain('missing or wrong bearer token');
  expect((await postAlerts(h.url, body, { token: `${TOKEN}x` })).status).toBe(401);
  expect((await postAlerts(h.url, body, { token: TOKEN.slice(0, -1) })).status).toBe(401);

  const malformed = await postAlerts(h.url, null, {
    token: TOKEN,
    raw: '{"version":"4","alerts":[',
  });
  expect(malformed.status).toBe(400);
  expect(String(malformed.json?.error)).toMatch(/^malformed JSON/);

  const wrongVersion = await postAlerts(h.url, { ...body, version: '3' }, { token: TOKEN });
  expect(wrongVersion.status).toBe(400);
  expect(String(wrongVersion.json?.error)).toContain(
    'version: only Alertmanager webhook payload version "4" is understood',
  );
  const noFingerprint = await postAlerts(
    h.url,
    payload([{ ...alert({ fingerprint: 'a1' }), fingerprint: undefined }]),
    { token: TOKEN },
  );
  expect(noFingerprint.status).toBe(400);
  expect(String(noFingerprint.json?.error)).toContain('alerts.0.fingerprint');

  const many = payload(Array.from({ length: 40 }, (_, i) => alert({ fingerprint: `fp${i}` })));
  const oversized = await postAlerts(h.url, many, { token: TOKEN });
  expect(oversized.status).toBe(400);
  expect(String(oversized.json?.error)).toContain('body larger than 4096 bytes');
  // Without a Content-Length the limit holds while reading the stream.
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${h.url}/webhooks/alertmanager`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    const raw = JSON.stringify(many);
    for (let i = 0; i < raw.length; i += 1000) req.write(raw.slice(i, i + 1000));
    req.end();
  });
  expect(chunked.status).toBe(400);
  expect(chunked.body).toContain('body larger than 4096 bytes');

  expect(await redis.exists(key)).toBe(0);
  expect(await statusAnswer(h)).toContain('0/3 alerts firing');
  // The same alerts with the right token are stored: the check above could have failed.
  await ok(h, body.alerts as Record<string, unknown>[]);
  expect(await redis.exists(key)).toBe(1);
});
