/**
 * POST /webhooks/alertmanager: Prometheus Alertmanager's webhook, authenticated with a bearer
 * token. Every refusal happens before the detector sees anything, so a refused request leaves
 * no trace in the state: 401 for a missing or wrong token, 400 (with the reason) for a body that
 * is too large, not JSON, or not an Alertmanager payload.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseAlertmanagerPayload, type Detector } from '../detection/index.js';

export const ALERTMANAGER_PATH = '/webhooks/alertmanager';

export interface AlertmanagerWebhookOptions {
  detector: Detector;
  token: string;
  maxBodyBytes: number;
  log: Logger;
}

function send(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Equal-length digests so the comparison takes the same time whatever the caller sent. */
function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m ? m[1]! : null;
}

class BodyTooLarge extends Error {}

/**
 * The body, or BodyTooLarge once it passes `max`. Past the limit the rest is read and dropped
 * rather than the socket destroyed, so the client still receives the 400 and its reason.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let tooLarge = Number.isFinite(declared) && declared > max;
    if (tooLarge) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > max) {
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export function alertmanagerWebhook(opts: AlertmanagerWebhookOptions) {
  const { detector, token, maxBodyBytes } = opts;
  const log = opts.log.child({ component: 'alertmanager-webhook' });
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const given = bearer(req);
      if (given === null || !tokenMatches(given, token)) {
        log.warn(
          { remote: req.socket.remoteAddress, hasToken: given !== null },
          'Alertmanager webhook refused: missing or wrong bearer token',
        );
        // Discard the body unread (no buffering) so the client gets the answer, not a reset.
        req.resume();
        send(
          res,
          401,
          {
            ok: false,
            error:
              "missing or wrong bearer token: set Authorization: Bearer <the token in the bot's environment>",
          },
          {
            'www-authenticate': 'Bearer',
          },
        );
        return;
      }
      let raw: Buffer;
      try {
        raw = await readBody(req, maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          log.warn({ maxBodyBytes }, 'Alertmanager webhook refused: body too large');
          send(res, 400, {
            ok: false,
            error: `body larger than ${maxBodyBytes} bytes (detection.maxBodyBytes): lower max_alerts in the Alertmanager webhook config`,
          });
          return;
        }
        throw err;
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        send(res, 400, { ok: false, error: `malformed JSON: ${(err as Error).message}` });
        return;
      }
      const parsed = parseAlertmanagerPayload(json);
      if (!parsed.ok) {
        log.warn({ reason: parsed.reason }, 'Alertmanager webhook refused: invalid payload');
        send(res, 400, { ok: false, error: parsed.reason });
        return;
      }
      try {
        const result = await detector.ingest(parsed.payload);
        log.info(
          { accepted: result.accepted, ignored: result.ignored, change: result.change },
          'Alertmanager alerts received',
        );
        send(res, 200, { ok: true, accepted: result.accepted, ignored: result.ignored });
      } catch (err) {
        // Alertmanager retries on 5xx, which is what a down state Redis needs.
        log.error({ err }, 'could not record Alertmanager alerts');
        send(res, 503, {
          ok: false,
          error:
            'the bot could not record the alerts (state Redis unavailable?); Alertmanager will retry',
        });
      }
    })().catch((err: unknown) => {
      log.error({ err }, 'Alertmanager webhook failed');
      send(res, 500, { ok: false, error: 'internal error' });
    });
  };
}
