/**
 * In Socket Mode the bot has no Bolt HTTP receiver: the Alertmanager webhook is served by its
 * small HTTP server next to /healthz. Slack's side is the fake Web API plus a minimal WebSocket
 * endpoint that completes the handshake and says hello, as Slack's Socket Mode gateway does.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';
import { PRIMARY, SECONDARY, alert, payload, postAlerts } from './fixtures.js';

const TOKEN = 'am-token-socket-mode';
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** One WebSocket text frame from server to client (unmasked, as servers send them). */
function textFrame(text: string): Buffer {
  const body = Buffer.from(text);
  const head =
    body.length < 126
      ? Buffer.from([0x81, body.length])
      : Buffer.from([0x81, 126, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

async function startSocketGateway(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    // A client's close frame (opcode 8) gets the closing handshake back, so it does not wait for it.
    socket.on('data', (chunk: Buffer) => {
      if ((chunk[0]! & 0x0f) === 0x8) socket.end(Buffer.from([0x88, 0x00]));
    });
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.write(
      textFrame(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'fake', approximate_connection_time: 3600 },
          connection_info: { app_id: 'A0FAKE' },
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/link`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let redis: Redis;
let slack: FakeSlack;
let gateway: Awaited<ReturnType<typeof startSocketGateway>>;
let h: BotHarness | undefined;
beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  gateway = await startSocketGateway();
  slack.answerMethod('apps.connections.open', { url: gateway.url });
});
afterAll(async () => {
  await h?.stop();
  await gateway.close();
  await slack.close();
  redis.disconnect();
});

test('the webhook is served next to /healthz, with the same token check', async () => {
  const config = configSchema.parse({
    environment: 'detect-socket',
    regions: {
      primary: { name: PRIMARY, healthUrl: 'http://127.0.0.1:1/healthz' },
      secondary: { name: SECONDARY },
    },
    slack: { incidentChannel: 'C0INCIDENT' },
    approvals: { approvers: ['U0BOB'] },
    detection: { probeIntervalSeconds: 3600, probeTimeoutSeconds: 1 },
  });
  h = await startBotHarness({
    slack,
    redis,
    config,
    signingSecret: 'unused-in-socket-mode',
    prefix: uniquePrefix('detection-socket'),
    log,
    env: { SLACK_APP_TOKEN: 'xapp-1-test', DR_ALERTMANAGER_TOKEN: TOKEN },
    detection: true,
  });
  expect(slack.api('apps.connections.open')).toHaveLength(1);
  expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  expect(
    (await postAlerts(h.url, payload([alert({ fingerprint: 'a1' })]), { token: 'wrong' })).status,
  ).toBe(401);
  const res = await postAlerts(
    h.url,
    payload([alert({ fingerprint: 'a1' }), alert({ fingerprint: 'b2', region: SECONDARY })]),
    { token: TOKEN },
  );
  expect(res).toEqual({ status: 200, json: { ok: true, accepted: 1, ignored: 1 } });
  expect((await h.detector!.signals()).firing).toBe(1);
});
