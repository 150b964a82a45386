/**
 * A local stand-in for the Slack Web API: a node:http server that speaks its wire format
 * (POST /api/<method>, form-encoded or JSON bodies, `{ ok: true, ... }` answers) and records every
 * call, so tests run the real @slack/web-api client and Bolt's respond() against it and assert on
 * what the bot actually sent. Any other path stands in for a response_url.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';

export interface ApiCall {
  kind: 'api';
  method: string;
  /** Arguments as the client sent them; JSON-valued form fields (blocks, ...) are parsed. */
  args: Record<string, unknown>;
  token: string | null;
  /** What the fake answered (chat.postMessage's `ts`, ...). */
  result: Record<string, unknown>;
}

interface ResponseUrlCall {
  kind: 'response';
  path: string;
  body: Record<string, unknown>;
}

type RecordedCall = ApiCall | ResponseUrlCall;

/** A file sent through files.uploadV2 (getUploadURLExternal, the upload, completeUploadExternal). */
interface Upload {
  fileId: string;
  filename: string;
  content: string;
  /** Set by completeUploadExternal: where it was shared. */
  channel?: string;
  threadTs?: string;
  title?: string;
}

export interface FakeSlack {
  /** Base URL for SLACK_API_URL, ending in /api/. */
  apiUrl: string;
  /** A response_url on this server (one path per test interaction keeps answers apart). */
  responseUrl(name: string): string;
  calls: RecordedCall[];
  api(method?: string): ApiCall[];
  responses(path?: string): ResponseUrlCall[];
  /** Files uploaded with files.uploadV2, completed or not. */
  uploads(): Upload[];
  /** Members returned by usergroups.users.list for a group. */
  setUserGroup(id: string, users: string[]): void;
  /** Answer a method only after `ms` (0 clears it), so calls overlap the way they do over a real network. */
  delayMethod(method: string, ms: number): void;
  /** The most calls of `method` that were in flight at once. */
  maxInFlight(method: string): number;
  /** Answer a method with `result` (merged into `{ ok: true }`) until cleared (undefined). */
  answerMethod(method: string, result: Record<string, unknown> | undefined): void;
  /** The scopes every answer names in x-oauth-scopes, as Slack does (default: the manifest's). */
  setScopes(scopes: string[]): void;
  /** Make a method answer `{ ok: false, error }` until cleared (error undefined). */
  failMethod(method: string, error: string | undefined): void;
  /**
   * Slack having a bad time: the next `rateLimited` Web API calls answer HTTP 429 with
   * `Retry-After: retryAfterS`, then every call answers HTTP 500 until `serverErrorMs` have
   * passed (the case is 30 s) or endOutage(). A refused call is not recorded in `calls`:
   * Slack did not take it.
   */
  outage(opts: { rateLimited: number; retryAfterS: number; serverErrorMs: number }): void;
  endOutage(): void;
  /** Whether the outage still refuses calls. */
  inOutage(): boolean;
  /** The HTTP statuses the outage answered, in order, with the method refused. */
  refused(): { status: 429 | 500; method: string }[];
  /** Resolve once `predicate` holds over the recorded calls (checked after each call). */
  waitFor<T>(
    predicate: (f: FakeSlack) => T | undefined | null | false,
    what: string,
    timeoutMs?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata']);
const MANIFEST_SCOPES = [
  'chat:write',
  'chat:write.public',
  'commands',
  'files:write',
  'usergroups:read',
];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseArgs(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw === '') return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if (JSON_FIELDS.has(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // not JSON after all: keep the string
      }
    }
    out[k] = v;
  }
  return out;
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: RecordedCall[] = [];
  const events = new EventEmitter();
  const groups = new Map<string, string[]>();
  const failures = new Map<string, string>();
  const answers = new Map<string, Record<string, unknown>>();
  const delays = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const peak = new Map<string, number>();
  const uploads = new Map<string, Upload>();
  let tsCounter = 0;
  let scopes = [...MANIFEST_SCOPES];
  let fileCounter = 0;
  let base = '';
  let outage: { rateLimited: number; retryAfterS: number; until: number } | undefined;
  const refused: { status: 429 | 500; method: string }[] = [];

  /** The outage's answer to a Web API call, if it refuses this one. */
  function outageAnswer(
    method: string,
  ): { status: 429 | 500; headers: Record<string, string> } | undefined {
    if (!outage) return undefined;
    if (outage.rateLimited > 0) {
      outage.rateLimited -= 1;
      refused.push({ status: 429, method });
      return { status: 429, headers: { 'retry-after': String(outage.retryAfterS) } };
    }
    if (Date.now() >= outage.until) {
      outage = undefined;
      return undefined;
    }
    refused.push({ status: 500, method });
    return { status: 500, headers: {} };
  }
  const nextTs = (): string => `1764000000.${String(++tsCounter).padStart(6, '0')}`;

  function answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const failure = failures.get(method);
    if (failure) return { ok: false, error: failure };
    const fixed = answers.get(method);
    if (fixed) return { ok: true, ...fixed };
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.test/',
          team: 'Fake',
          user: 'drbot',
          team_id: 'T0FAKE',
          user_id: 'UBOT0001',
          bot_id: 'BBOT0001',
        };
      case 'chat.postMessage': {
        const ts = nextTs();
        return {
          ok: true,
          channel: args.channel,
          ts,
          message: {
            ts,
            text: args.text,
            ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}),
          },
        };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.getPermalink':
        return {
          ok: true,
          channel: args.channel,
          permalink: `https://fake.slack.test/archives/${String(args.channel)}/p${String(args.message_ts).replace('.', '')}`,
        };
      case 'files.getUploadURLExternal': {
        const fileId = `F0FAKE${String(++fileCounter).padStart(4, '0')}`;
        uploads.set(fileId, { fileId, filename: String(args.filename), content: '' });
        return { ok: true, file_id: fileId, upload_url: `${base}/upload/${fileId}` };
      }
      case 'files.completeUploadExternal': {
        const files = (typeof args.files === 'string' ? JSON.parse(args.files) : args.files) as {
          id: string;
          title?: string;
        }[];
        for (const f of files) {
          const u = uploads.get(f.id);
          if (!u) return { ok: false, error: 'file_not_found' };
          Object.assign(u, {
            ...(args.channel_id ? { channel: String(args.channel_id) } : {}),
            ...(args.thread_ts ? { threadTs: String(args.thread_ts) } : {}),
            ...(f.title ? { title: f.title } : {}),
          });
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title })) };
      }
      case 'usergroups.users.list': {
        const users = groups.get(String(args.usergroup));
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      default:
        return { ok: true };
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
        const method = url.pathname.slice('/api/'.length);
        const down = outageAnswer(method);
        if (down) {
          res.writeHead(down.status, { 'content-type': 'text/plain', ...down.headers });
          res.end(down.status === 429 ? 'ratelimited' : 'internal_error');
          events.emit('call');
          return;
        }
        const args = parseArgs(raw, req.headers['content-type']);
        const auth = req.headers.authorization;
        const token = auth?.startsWith('Bearer ')
          ? auth.slice(7)
          : typeof args.token === 'string'
            ? args.token
            : null;
        const result = answer(method, args);
        calls.push({ kind: 'api', method, args, token, result });
        inFlight.set(method, (inFlight.get(method) ?? 0) + 1);
        peak.set(method, Math.max(peak.get(method) ?? 0, inFlight.get(method)!));
        const delay = delays.get(method);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        inFlight.set(method, inFlight.get(method)! - 1);
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-oauth-scopes': scopes.join(','),
        });
        res.end(JSON.stringify(result));
      } else if (req.method === 'POST' && url.pathname.startsWith('/upload/')) {
        // The upload step of files.uploadV2: the file's bytes, posted to the URL we handed out.
        const u = uploads.get(url.pathname.slice('/upload/'.length));
        if (u) u.content = await uploadedContent(raw, req.headers['content-type']);
        res.writeHead(u ? 200 : 404, { 'content-type': 'text/plain' });
        res.end(u ? `OK - ${raw.length}` : 'no such upload');
      } else {
        calls.push({
          kind: 'response',
          path: url.pathname,
          body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
        });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
      events.emit('call');
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeSlack = {
    apiUrl: `${base}/api/`,
    responseUrl: (name) => `${base}/respond/${encodeURIComponent(name)}`,
    calls,
    api: (method) =>
      calls.filter(
        (c): c is ApiCall => c.kind === 'api' && (method === undefined || c.method === method),
      ),
    responses: (path) =>
      calls.filter(
        (c): c is ResponseUrlCall =>
          c.kind === 'response' &&
          (path === undefined || c.path === `/respond/${encodeURIComponent(path)}`),
      ),
    uploads: () => [...uploads.values()],
    setUserGroup: (id, users) => void groups.set(id, users),
    delayMethod: (method, ms) => void (ms > 0 ? delays.set(method, ms) : delays.delete(method)),
    maxInFlight: (method) => peak.get(method) ?? 0,
    answerMethod: (method, result) =>
      void (result === undefined ? answers.delete(method) : answers.set(method, result)),
    setScopes: (list) => void (scopes = [...list]),
    failMethod: (method, error) =>
      void (error === undefined ? failures.delete(method) : failures.set(method, error)),
    outage: (o) =>
      void (outage = {
        rateLimited: o.rateLimited,
        retryAfterS: o.retryAfterS,
        until: Date.now() + o.serverErrorMs,
      }),
    endOutage: () => void (outage = undefined),
    inOutage: () => outage !== undefined && (outage.rateLimited > 0 || Date.now() < outage.until),
    refused: () => [...refused],
    waitFor(predicate, what, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          let v: ReturnType<typeof predicate>;
          try {
            v = predicate(fake);
          } catch (err) {
            cleanup();
            reject(err as Error);
            return true;
          }
          if (v) {
            cleanup();
            resolve(v);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `fake Slack: gave up waiting for ${what}; calls so far:\n${describeCalls(calls)}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          events.off('call', check);
        };
        if (!check()) events.on('call', check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

/** The web client posts the file as multipart/form-data (one part); other clients may post it raw. */
async function uploadedContent(raw: string, contentType: string | undefined): Promise<string> {
  if (!contentType?.startsWith('multipart/form-data')) return raw;
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const [first] = [...form.values()];
  return typeof first === 'string' ? first : ((await first?.text()) ?? '');
}

function describeCalls(calls: RecordedCall[]): string {
  return calls
    .map((c) =>
      c.kind === 'api'
        ? `  ${c.method} ${String(c.args.text ?? '').slice(0, 100)}`
        : `  response ${c.path} ${String(c.body.text ?? '').slice(0, 100)}`,
    )
    .join('\n');
}
