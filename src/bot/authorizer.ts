/**
 * Who may approve, skip and abort: the configured Slack user ids, plus the members of the
 * configured user group. Group membership is read from Slack and cached briefly, because a click
 * must be answered within seconds and membership rarely changes during an incident.
 */
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { Authorizer } from '../engine/types.js';
import { createSlackClient, requireEnv } from './client.js';

export interface SlackAuthorizerOptions {
  config: Pick<DrConfig, 'approvals'>;
  /** The Web API client for usergroups.users.list; or give `env` and one is built from SLACK_BOT_TOKEN / SLACK_API_URL. */
  client?: webApi.WebClient;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** How long a user group's member list is trusted. */
  cacheMs?: number;
  now?: () => number;
}

export function createSlackAuthorizer(opts: SlackAuthorizerOptions): Authorizer {
  const { config, log } = opts;
  const group = config.approvals.userGroup;
  // Only the user group needs Slack; without one, the approvers list alone decides.
  const client = group
    ? (opts.client ??
      createSlackClient(
        requireEnv(
          opts.env ?? {},
          'SLACK_BOT_TOKEN',
          'approvals.userGroup is read from Slack with the bot token',
        ),
        opts.env ?? {},
        log,
      ))
    : null;
  const cacheMs = opts.cacheMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const approvers = new Set(config.approvals.approvers);
  let cached: { members: Set<string>; at: number } | null = null;
  let inFlight: Promise<Set<string>> | null = null;

  async function fetchGroup(usergroup: string): Promise<Set<string>> {
    try {
      const res = await client!.usergroups.users.list({ usergroup });
      const members = new Set(res.users ?? []);
      cached = { members, at: now() };
      return members;
    } catch (err) {
      // Fail closed for the group, but keep a recent answer: a Slack hiccup should not lock
      // out approvers mid-incident, and the explicit approvers list still works.
      log.warn(
        { err, usergroup },
        'could not read the approvers user group from Slack; using the last known members',
      );
      return cached?.members ?? new Set();
    } finally {
      inFlight = null;
    }
  }

  return {
    async isAuthorized(userId: string): Promise<boolean> {
      if (approvers.has(userId)) return true;
      if (!group) return false;
      if (cached && now() - cached.at < cacheMs) return cached.members.has(userId);
      inFlight ??= fetchGroup(group);
      return (await inFlight).has(userId);
    },
  };
}
