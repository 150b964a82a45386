/**
 * The files that ship beside the code must agree with it: the Slack manifest installs the command
 * the example config names, at the URL the bot serves, with the scopes its calls need; the image
 * runs the same entry point as `npm start`.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const read = (name: string): string => readFileSync(`${ROOT}${name}`, 'utf8');

interface Manifest {
  display_information: { name: string; description: string };
  features: {
    bot_user: { display_name: string };
    slash_commands: { command: string; url: string; description: string; usage_hint: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    interactivity: { is_enabled: boolean; request_url: string };
    socket_mode_enabled: boolean;
  };
}

describe('manifest.yml', () => {
  const manifest = parse(read('manifest.yml')) as Manifest;

  it("registers the slash command of the example config, at the bot's events endpoint", () => {
    const config = loadConfig({ path: `${ROOT}dr.config.example.yaml`, env: {} });
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual([config.slack.command]);
    const [command] = manifest.features.slash_commands;
    expect(command.url).toBe('https://YOUR-HOST/slack/events');
    expect(command.usage_hint).toContain('failover [planned|unplanned]');
    // Every subcommand a person can type is in the hint Slack shows while typing.
    for (const sub of ['failover', 'failback', 'drill', 'status', 'abort', 'help'])
      expect(command.usage_hint).toContain(sub);
  });

  it('sends button clicks to the same endpoint, in HTTP mode by default', () => {
    expect(manifest.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: 'https://YOUR-HOST/slack/events',
    });
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  it('asks for the scopes the bot uses and no others', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([
      'chat:write',
      'chat:write.public',
      'commands',
      'files:write',
      'usergroups:read',
    ]);
  });

  // Limits from Slack's published manifest JSON schema (slackapi/manifest-schema, v1).
  it("stays within Slack's length limits for names and descriptions", () => {
    const [command] = manifest.features.slash_commands;
    expect(manifest.display_information.name.length).toBeLessThanOrEqual(35);
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
    expect(command.command.length).toBeLessThanOrEqual(32);
    expect(command.description.length).toBeLessThanOrEqual(2000);
    expect(command.usage_hint.length).toBeLessThanOrEqual(1000);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

  it('runs what `npm start` runs under an init, as a non-root user, with a health check that needs no curl', () => {
    expect(pkg.scripts.start).toBe('node bin/dr.js start');
    // tini is PID 1: signals reach the bot and its finished child processes are reaped.
    expect(dockerfile).toMatch(
      /^RUN apt-get update && apt-get install -y --no-install-recommends tini/m,
    );
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "bin\/dr\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["start"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(
      /^HEALTHCHECK [\s\S]*CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|3000\)\+'\/healthz'\)/m,
    );
    const instructions = dockerfile.split('\n').filter((l) => !l.startsWith('#'));
    expect(instructions.join('\n')).not.toMatch(/curl|wget/);
  });

  it('builds in one stage and installs only production dependencies in the runtime stage', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.map((s) => s.split('\n')[0])).toEqual([
      'node:22-slim AS build',
      'node:22-slim AS runtime',
    ]);
    expect(stages[0]).toContain('RUN npm ci');
    expect(stages[0]).toContain('RUN npm run build');
    expect(stages[1]).toContain('npm ci --omit=dev');
    expect(stages[1]).toContain('COPY --from=build /build/dist ./dist');
  });
});
