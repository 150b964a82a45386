/**
 * The environment handed to operator-configured commands (fence, resync, verification checks).
 * They run scripts we did not write and whose output lands in the timeline and in Slack, so the
 * bot's own credentials (Slack tokens, the webhook bearer token) are not passed on. Everything
 * else is: such commands legitimately need PATH, cloud credentials, KUBECONFIG and the like.
 */
const BOT_SECRETS = [/^SLACK_/, /^DR_ALERTMANAGER_TOKEN$/];

export function commandEnv(
  extra: Record<string, string> = {},
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !BOT_SECRETS.some((re) => re.test(k))) env[k] = v;
  }
  return { ...env, ...extra };
}
