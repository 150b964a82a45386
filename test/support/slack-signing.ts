/**
 * Signs requests exactly as Slack does (v0: HMAC-SHA256 of `v0:timestamp:body` with the signing
 * secret, sent as X-Slack-Signature with X-Slack-Request-Timestamp), and builds the form bodies
 * Slack posts for slash commands and block_actions.
 */
import { createHmac } from 'node:crypto';

function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** The headers Slack sends with `body`: its content type, timestamp (now) and signature. */
export function signedHeaders(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(secret, timestamp, body),
  };
}

export interface PostOptions {
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Leave the signature headers out entirely. */
  unsigned?: boolean;
  /** Sign with this secret instead of the right one. */
  secret?: string;
  /** Default: a form body, as slash commands and clicks are sent. */
  contentType?: string;
}

interface PostResult {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
}

export async function postToSlackApp(
  url: string,
  secret: string,
  body: string,
  opts: PostOptions = {},
): Promise<PostResult> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = opts.unsigned
    ? { 'content-type': 'application/x-www-form-urlencoded' }
    : signedHeaders(opts.secret ?? secret, body, timestamp);
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

export function slashCommandBody(f: {
  command?: string;
  text: string;
  userId: string;
  channelId?: string;
  responseUrl: string;
  teamId?: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: f.teamId ?? 'T0FAKE',
    team_domain: 'fake',
    channel_id: f.channelId ?? 'C0INCIDENT',
    channel_name: 'incident',
    user_id: f.userId,
    user_name: f.userId.toLowerCase(),
    command: f.command ?? '/dr',
    text: f.text,
    api_app_id: 'A0FAKE',
    is_enterprise_install: 'false',
    response_url: f.responseUrl,
    trigger_id: `${Date.now()}.trigger`,
  }).toString();
}

export function blockActionsBody(f: {
  userId: string;
  actionId: string;
  value: string;
  responseUrl: string;
  channelId?: string;
  messageTs?: string;
  blockId?: string;
  teamId?: string;
}): string {
  const channel = f.channelId ?? 'C0INCIDENT';
  const payload = {
    type: 'block_actions',
    user: {
      id: f.userId,
      username: f.userId.toLowerCase(),
      name: f.userId.toLowerCase(),
      team_id: f.teamId ?? 'T0FAKE',
    },
    api_app_id: 'A0FAKE',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: f.messageTs ?? '1764000000.000001',
      channel_id: channel,
      is_ephemeral: false,
    },
    trigger_id: `${Date.now()}.trigger`,
    team: { id: f.teamId ?? 'T0FAKE', domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'incident' },
    message: { type: 'message', ts: f.messageTs ?? '1764000000.000001', text: 'status card' },
    response_url: f.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: f.actionId,
        block_id: f.blockId ?? 'dr_block',
        text: { type: 'plain_text', text: 'button' },
        value: f.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
