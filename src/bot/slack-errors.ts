/**
 * What a failed Slack Web API call means for the person reading the log, from the @slack/web-api
 * error's code (never its message text): Slack answered with an error (`not_in_channel`, ...),
 * Slack did not answer (connection refused, timeout), or answered with an HTTP error or a rate
 * limit. Only Slack's own channel errors get the "invite the bot" hint: a refused connection says
 * so instead of sending people to check channel membership.
 */

/** Slack's answer to a call it refused (`not_in_channel`), or undefined when Slack did not answer one. */
function slackErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; data?: { error?: unknown } };
  return e.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string'
    ? e.data.error
    : undefined;
}

/**
 * The innermost cause of a request error, as Node says it: fetch wraps "connect ECONNREFUSED
 * 127.0.0.1:8080" in "fetch failed" (and a refused dual-stack connect in an AggregateError).
 */
function networkCause(err: unknown): string {
  let e: unknown = err;
  for (
    let depth = 0;
    depth < 5 && typeof e === 'object' && e !== null && (e as { cause?: unknown }).cause;
    depth++
  )
    e = (e as { cause?: unknown }).cause;
  if (typeof e !== 'object' || e === null) return e === undefined ? '' : String(e);
  const { code, message, errors } = e as { code?: unknown; message?: unknown; errors?: unknown };
  const inner = Array.isArray(errors)
    ? (errors[0] as { message?: unknown } | undefined)?.message
    : undefined;
  const text =
    typeof message === 'string' && message.length > 0
      ? message
      : typeof inner === 'string'
        ? inner
        : '';
  if (typeof code === 'string' && !text.includes(code)) return text ? `${code}: ${text}` : code;
  return text;
}

/** What happened, without the hint: "Slack answered channel_not_found", "Slack did not answer (connect ECONNREFUSED …)". */
export function describeSlackFailure(err: unknown): string {
  const code = slackErrorCode(err);
  if (code) return `Slack answered ${code}`;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    original?: { code?: unknown; message?: unknown };
    statusCode?: unknown;
    retryAfter?: unknown;
    message?: unknown;
  };
  switch (e.code) {
    case 'slack_webapi_request_error': {
      const detail = networkCause(e.original);
      return `the Slack Web API did not answer${detail ? ` (${detail})` : ''}: check the network, and SLACK_API_URL when it is set`;
    }
    case 'slack_webapi_http_error':
      return `the Slack Web API answered HTTP ${String(e.statusCode)}`;
    case 'slack_webapi_rate_limited_error':
      return `Slack rate-limited the call (retry after ${String(e.retryAfter)} s)`;
    default:
      return typeof e.message === 'string' ? e.message : String(err);
  }
}

/**
 * Why posting into `channel` failed, with what to do when Slack's answer is about the channel:
 * `not_in_channel` (the bot is not a member: a message needs an invite or chat:write.public, which
 * covers chat.postMessage only; a file shared by files.completeUploadExternal needs the invite),
 * `channel_not_found` (a wrong id, or a private channel the bot was not invited to).
 */
export function channelFailure(
  err: unknown,
  channel: string,
  what: 'message' | 'file' = 'message',
): string {
  switch (slackErrorCode(err)) {
    case 'not_in_channel':
      return what === 'file'
        ? `the bot is not a member of ${channel} (Slack answered not_in_channel; chat:write.public lets it post messages there, not files): invite @dr-bot to ${channel} (\`/invite @dr-bot\` in that channel)`
        : `the bot is not a member of ${channel} (Slack answered not_in_channel): invite @dr-bot to ${channel} (\`/invite @dr-bot\` in that channel), or give the app the chat:write.public scope`;
    case 'channel_not_found':
      return `Slack answered channel_not_found for ${channel}: check slack.incidentChannel (a channel id such as C0123INCIDENT), and invite @dr-bot if it is a private channel`;
    default:
      return describeSlackFailure(err);
  }
}

/**
 * Whether a failed call is worth sending again later: Slack did not answer, answered an HTTP
 * error (5xx, or 429 once the client's own waits ran out), or rate-limited it. Slack's own
 * refusals (`ok: false`: not_in_channel, invalid_auth, ...) come back the same however often
 * they are sent. Returns Slack's Retry-After in ms when it gave one, 0 when it did not, or
 * undefined when the call should not be repeated.
 */
export function slackRetryAfterMs(err: unknown): number | undefined {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    retryAfter?: unknown;
  };
  if (e.code === 'slack_webapi_platform_error') return undefined;
  if (e.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number')
    return e.retryAfter * 1000;
  // HTTP and request errors; and the client's plain Error after its last 429 ("A rate limit was
  // exceeded"), which carries no code at all.
  return 0;
}
