import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  checkStartEnvironment,
  configPathFrom,
  configSchema,
  loadConfig,
  resolveConnection,
  summarizeConfig,
  type DrConfig,
} from '../../src/config/index.js';

const EXAMPLE = new URL('../../dr.config.example.yaml', import.meta.url).pathname;
const EXAMPLE_ENV = {
  DR_ALERTMANAGER_TOKEN: 'alertmanager-bearer-token',
  DR_PG_PRIMARY_URL: 'postgres://dr_bot:s3cret@db-primary.internal:5432/app',
  DR_PG_SECONDARY_URL: 'postgres://dr_bot:s3cret@db-secondary.internal:5432/app',
  DR_REDIS_PRIMARY_URL: 'redis://:s3cret@cache-primary.internal:6379',
  DR_REDIS_SECONDARY_URL: 'redis://:s3cret@cache-secondary.internal:6379',
};
const SLACK_ENV = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'signing' };

const MINIMAL = `environment: staging
regions:
  primary: { name: eu-west-1 }
  secondary: { name: eu-central-1 }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE]
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dr-config-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function loadError(path: string): ConfigError {
  try {
    loadConfig({ path, env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('dr.config.example.yaml', () => {
  it('is a valid config, with every component configured', () => {
    const config = loadConfig({ path: EXAMPLE, env: EXAMPLE_ENV });
    expect(config.environment).toBe('prod');
    expect(Object.keys(config.components).sort()).toEqual([
      'dns',
      'kubernetes',
      'objectStorage',
      'postgres',
      'redis',
      'terraformState',
      'verification',
    ]);
    expect(config.detection?.tokenEnv).toBe('DR_ALERTMANAGER_TOKEN');
    expect(config.components.dns?.provider).toBe('route53');
  });

  it('names only variables that, once set, let dr start resolve every connection', () => {
    const config = loadConfig({ path: EXAMPLE, env: EXAMPLE_ENV });
    const runtime = checkStartEnvironment(config, {
      ...EXAMPLE_ENV,
      ...SLACK_ENV,
      REDIS_URL: 'redis://dr-state.internal:6379',
    });
    expect(runtime.connections['components.postgres.primary']).toBe(EXAMPLE_ENV.DR_PG_PRIMARY_URL);
    expect(runtime.connections['components.redis.secondary']).toBe(
      EXAMPLE_ENV.DR_REDIS_SECONDARY_URL,
    );
  });

  it('documents the Traffic Manager variant, which is valid when uncommented', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const lines = text.split('\n');
    const first = lines.indexOf('    # trafficManager:');
    expect(first).toBeGreaterThan(0);
    let last = first;
    while (/^ {4}#/.test(lines[last + 1])) last += 1;
    const block = lines
      .slice(first, last + 1)
      .filter((l) => !/^\s*#\s+#/.test(l))
      .map((l) => l.replace(/^(\s*)# /, '$1'));
    const variant = [...lines.slice(0, first), ...block, ...lines.slice(last + 1)]
      .join('\n')
      .replace('    provider: route53', '    provider: traffic-manager');
    const config = loadConfig({ path: write('tm.yaml', variant), env: {} });
    expect(config.components.dns?.provider).toBe('traffic-manager');
    expect(config.components.dns?.trafficManager).toMatchObject({
      profileName: 'app-tm',
      method: 'disable-endpoint',
    });
  });
});

describe('loadConfig', () => {
  it('fills the documented defaults', () => {
    const config = loadConfig({ path: write('minimal.yaml', MINIMAL), env: {} });
    expect(config.approvals).toEqual({
      approvers: ['U0123ALICE'],
      required: 1,
      timeoutMinutes: 30,
    });
    expect(config.slack.command).toBe('/dr');
    // PostgreSQL and Redis follow rpoMinutes; object storage and Kubernetes state per DESIGN.md's table.
    expect(config.targets).toEqual({
      rtoMinutes: 30,
      rpoMinutes: 5,
      rpoMinutesByComponent: { objectStorage: 1, kubernetes: 24 * 60 },
    });
    expect(config.components).toEqual({});
  });

  it('returns a deep-frozen config', () => {
    const config = loadConfig({ path: write('frozen.yaml', MINIMAL), env: {} }) as {
      approvals: { approvers: string[]; required: number };
    };
    expect(() => {
      config.approvals.required = 5;
    }).toThrow(TypeError);
    expect(() => config.approvals.approvers.push('U0123MALLORY')).toThrow(TypeError);
    expect(config.approvals.required).toBe(1);
  });

  it('tells where to put the config when the file is missing', () => {
    const err = loadError(join(dir, 'nope.yaml'));
    expect(err.message).toBe(
      `no config at ${join(dir, 'nope.yaml')}: pass --config FILE or set DR_CONFIG (dr.config.example.yaml shows every key)`,
    );
  });

  it('reports a YAML syntax error with its line and column', () => {
    const path = write(
      'syntax.yaml',
      'environment: prod\nregions:\n  primary: [eu\n  secondary: x\n',
    );
    const err = loadError(path);
    expect(err.message).toMatch(
      new RegExp(`^config ${path} is not valid YAML:\\n  ${path}: line \\d+, column \\d+: `),
    );
  });

  it('refuses a duplicated key instead of silently keeping the last one', () => {
    const path = write('dup.yaml', `${MINIMAL}environment: prod\n`);
    expect(loadError(path).message).toMatch(
      /not valid YAML:[\s\S]*line 9, column 1: Map keys must be unique/,
    );
  });

  it('refuses an empty file', () => {
    expect(loadError(write('empty.yaml', '# nothing yet\n')).message).toContain('is empty');
  });

  it('names the file, the key and the reason for a value out of range', () => {
    const path = write(
      'range.yaml',
      MINIMAL.replace('  approvers: [U0123ALICE]', '  approvers: [U0123ALICE]\n  required: 0'),
    );
    const err = loadError(path);
    expect(err.message.split('\n')).toEqual([
      `config ${path} is invalid (1 problem):`,
      `  ${path}: approvals.required: expected a number ≥ 1, got 0 (line 9)`,
    ]);
  });

  it('refuses two regions with the same name', () => {
    const path = write(
      'same-region.yaml',
      MINIMAL.replace('secondary: { name: eu-central-1 }', 'secondary: { name: eu-west-1 }'),
    );
    expect(loadError(path).message).toContain(
      `${path}: regions.secondary.name: primary and secondary name the same region: a failover needs two regions (line 4)`,
    );
  });

  it('refuses an approval rule nobody could ever satisfy', () => {
    const path = write(
      'unreachable.yaml',
      MINIMAL.replace('  approvers: [U0123ALICE]', '  approvers: [U0123ALICE]\n  required: 2'),
    );
    expect(loadError(path).message).toContain(
      `${path}: approvals.required: fewer distinct approvers than approvals.required: list more approvers, lower required, or add approvals.userGroup (line 9)`,
    );
  });

  it('names a value of the wrong type', () => {
    const path = write(
      'type.yaml',
      MINIMAL.replace(
        '  approvers: [U0123ALICE]',
        '  approvers: [U0123ALICE]\n  timeoutMinutes: soon',
      ),
    );
    expect(loadError(path).message).toContain(
      `${path}: approvals.timeoutMinutes: expected a number, got the text "soon" (line 9)`,
    );
  });

  it('names a missing required key at the mapping that should hold it', () => {
    const path = write(
      'missing.yaml',
      MINIMAL.replace('  secondary: { name: eu-central-1 }\n', ''),
    );
    expect(loadError(path).message).toContain(
      `${path}: regions.secondary: missing: expected a mapping (key: value lines) (line 2)`,
    );
  });

  it('refuses an unknown key and suggests the one that was meant', () => {
    const path = write(
      'unknown.yaml',
      `${MINIMAL}components:\n  postgress:\n    primary: { urlEnv: A }\n`,
    );
    expect(loadError(path).message).toContain(
      `${path}: components.postgress: unknown key (did you mean postgres?) (line 10)`,
    );
  });

  it('refuses a connection url with a password in it', () => {
    const path = write(
      'password.yaml',
      `${MINIMAL}components:\n  redis:\n    primary: { url: "redis://default:hunter2@cache:6379" }\n    secondary: { urlEnv: DR_REDIS_SECONDARY_URL }\n`,
    );
    const err = loadError(path);
    expect(err.message).toContain(
      `${path}: components.redis.primary: this url contains a password: put it in an environment variable and use \`urlEnv\``,
    );
    expect(err.message).not.toContain('hunter2');
  });

  it('lists every problem at once', () => {
    const path = write(
      'many.yaml',
      'environment: Prod\nregions:\n  primary: { name: a }\n  secondary: { name: b }\nslack:\n  incidentChannel: general\napprovals:\n  approvers: [alice]\n',
    );
    const lines = loadError(path).message.split('\n');
    expect(lines[0]).toBe(`config ${path} is invalid (3 problems):`);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(': ')[1])
        .sort(),
    ).toEqual(['approvals.approvers[0]', 'environment', 'slack.incidentChannel']);
  });

  it('keeps the quoting hint for an unquoted system identifier and shows the digits as written', () => {
    const path = write(
      'sysid.yaml',
      `${MINIMAL}components:\n  postgres:\n    primary: { urlEnv: A }\n    secondary: { urlEnv: B }\n    systemIdentifier: 7312345678901234567\n`,
    );
    expect(loadError(path).message).toContain(
      `${path}: components.postgres.systemIdentifier: quote the system identifier: YAML reads an unquoted 19-digit number inexactly; you wrote 7312345678901234567, which YAML reads as 7312345678901235000: write "7312345678901234567" (line 13)`,
    );
  });

  it('says what a slash command looks like instead of the pattern', () => {
    const path = write(
      'command.yaml',
      MINIMAL.replace(
        '  incidentChannel: C0123ABCD',
        '  incidentChannel: C0123ABCD\n  command: dr',
      ),
    );
    const message = loadError(path).message;
    expect(message).toContain(
      `${path}: slack.command: a slash command like /dr (starts with /, lowercase letters, digits, - or _), got the text "dr" (line 7)`,
    );
    expect(message).not.toMatch(/Invalid|pattern/);
  });

  it('gives every pattern and every custom type error in the schema a message for people', () => {
    // A regex check without its own message reports zod's "Invalid string: must match pattern /…/".
    const unexplained: string[] = [];
    const seen = new Set<unknown>();
    const walk = (node: unknown, where: string): void => {
      const def = (node as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
      if (!def || seen.has(node)) return;
      seen.add(node);
      for (const check of (def.checks as
        { _zod: { def: Record<string, unknown> } }[] | undefined) ?? []) {
        const c = check._zod.def;
        if (c.check === 'string_format' && c.error === undefined)
          unexplained.push(`${where} (${String(c.format)})`);
      }
      if (def.shape)
        for (const [k, v] of Object.entries(def.shape as object))
          walk(v, where ? `${where}.${k}` : k);
      for (const k of ['innerType', 'in', 'out', 'element']) if (def[k]) walk(def[k], where);
    };
    walk(configSchema, '');
    // z.string().url() is described by describeIssues itself (format "url").
    expect(unexplained.filter((u) => !u.endsWith('(url)'))).toEqual([]);
  });

  it('reports an enum value with the accepted values', () => {
    const path = write('enum.yaml', `${MINIMAL}components:\n  dns:\n    provider: route54\n`);
    expect(loadError(path).message).toContain(
      `components.dns.provider: expected one of "route53", "traffic-manager", "route53-arc", got the text "route54"`,
    );
  });
});

describe('resolveConnection', () => {
  it('returns a password-less url as written', () => {
    expect(resolveConnection({ url: 'redis://cache:6379' }, {}, 'components.redis.primary')).toBe(
      'redis://cache:6379',
    );
  });

  it('reads the variable named by urlEnv', () => {
    expect(
      resolveConnection(
        { urlEnv: 'PG' },
        { PG: 'postgres://u:p@h/db' },
        'components.postgres.primary',
      ),
    ).toBe('postgres://u:p@h/db');
  });

  it('names the variable and the key when the variable is not set', () => {
    expect(() =>
      resolveConnection({ urlEnv: 'DR_PG_PRIMARY_URL' }, {}, 'components.postgres.primary'),
    ).toThrow(
      new ConfigError(
        'components.postgres.primary.urlEnv: environment variable DR_PG_PRIMARY_URL is not set; set it to the connection string (e.g. postgres://user:password@host:5432/db)',
      ),
    );
  });

  it('treats an empty variable like a missing one', () => {
    expect(() =>
      resolveConnection({ urlEnv: 'PG' }, { PG: '  ' }, 'components.postgres.secondary'),
    ).toThrow(/components\.postgres\.secondary\.urlEnv: environment variable PG is empty/);
  });
});

describe('configPathFrom', () => {
  it('prefers --config, then DR_CONFIG, then ./dr.config.yaml', () => {
    expect(configPathFrom({ flag: 'a.yaml', env: { DR_CONFIG: 'b.yaml' } })).toBe('a.yaml');
    expect(configPathFrom({ env: { DR_CONFIG: 'b.yaml' } })).toBe('b.yaml');
    expect(configPathFrom({ env: {} })).toBe('./dr.config.yaml');
  });
});

describe('checkStartEnvironment', () => {
  const example = (): DrConfig => loadConfig({ path: EXAMPLE, env: {} });

  it('lists every missing piece together', () => {
    let message = '';
    try {
      checkStartEnvironment(example(), { DR_PG_PRIMARY_URL: 'postgres://h/db' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('the environment is not ready for dr start (6 problems):');
    expect(lines.slice(1).map((l) => l.trim().split(':')[0])).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET or SLACK_APP_TOKEN',
      'DR_ALERTMANAGER_TOKEN',
      'components.postgres.secondary.urlEnv',
      'components.redis.primary.urlEnv',
      'components.redis.secondary.urlEnv',
    ]);
  });

  it('runs in HTTP mode with a signing secret and falls back to the local Redis, flagged', () => {
    const runtime = checkStartEnvironment(
      loadConfig({ path: write('m.yaml', MINIMAL), env: {} }),
      SLACK_ENV,
    );
    expect(runtime).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlDefaulted: true,
      port: 3000,
    });
    expect(runtime.slack.mode).toBe('http');
  });

  it('runs in Socket Mode when an app token is given', () => {
    const runtime = checkStartEnvironment(loadConfig({ path: write('m.yaml', MINIMAL), env: {} }), {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1-2',
      REDIS_URL: 'redis://state:6379',
      PORT: '8080',
    });
    expect(runtime).toMatchObject({
      redisUrl: 'redis://state:6379',
      redisUrlDefaulted: false,
      port: 8080,
    });
    expect(runtime.slack.mode).toBe('socket');
  });

  it("refuses to keep the bot's state in the application's Redis it fails over", () => {
    expect(() =>
      checkStartEnvironment(example(), {
        ...EXAMPLE_ENV,
        ...SLACK_ENV,
        REDIS_URL: 'redis://cache-primary.internal:6379/1',
      }),
    ).toThrow(
      /REDIS_URL: points at the same server as components\.redis\.primary \(cache-primary\.internal:6379\)/,
    );
  });

  it('refuses a component whose primary and secondary are the same server', () => {
    expect(() =>
      checkStartEnvironment(example(), {
        ...EXAMPLE_ENV,
        ...SLACK_ENV,
        DR_PG_SECONDARY_URL: 'postgres://other-user:x@db-primary.internal:5432/app',
      }),
    ).toThrow(
      /components\.postgres: primary and secondary are the same server \(db-primary\.internal:5432\); check the connection strings$/,
    );
  });

  it('refuses a bad PORT, LOG_LEVEL and a REDIS_URL that is not a redis url', () => {
    expect(() =>
      checkStartEnvironment(loadConfig({ path: write('m.yaml', MINIMAL), env: {} }), {
        ...SLACK_ENV,
        PORT: 'http',
        REDIS_URL: 'localhost',
        LOG_LEVEL: 'verbose',
      }),
    ).toThrow(
      /\(3 problems\):\n {2}REDIS_URL: expected redis:\/\/host:port[^\n]*\n {2}PORT: expected a port number 0-65535, got "http"\n {2}LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/,
    );
  });
});

describe('summarizeConfig', () => {
  it('says which components are configured and which are skipped', () => {
    const { lines } = summarizeConfig(loadConfig({ path: write('s.yaml', MINIMAL), env: {} }), {});
    expect(lines).toContain('  postgres     not configured (its steps are skipped)');
    expect(lines).toContain(
      'approvals:    1 besides the requester, from U0123ALICE; expire after 30 min',
    );
    expect(lines).toContain(
      'targets:      RTO 30 min, RPO 5 min (object storage 1 min, Kubernetes state 24 h)',
    );
  });

  it.each([
    [
      `  dns:
    provider: route53-arc
    route53Arc:
      endpoints: [{ url: "https://host-aaa.us-east-1.example", region: us-east-1 }, { url: "https://host-bbb.eu-west-1.example", region: eu-west-1 }]
      primaryRoutingControlArn: arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/rc-primary
      secondaryRoutingControlArn: arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/rc-secondary
`,
      '  dns          route53 arc routing controls rc-primary (primary), rc-secondary (secondary) via 2 cluster endpoint(s)',
    ],
    [
      `  dns:
    provider: traffic-manager
    trafficManager: { subscriptionId: "0000", resourceGroup: rg-dr, profileName: app-tm, primaryEndpoint: primary, secondaryEndpoint: secondary }
`,
      '  dns          traffic manager profile app-tm in rg-dr (disable-endpoint)',
    ],
  ])('names the DNS switch of every provider (%#)', (dns, line) => {
    const path = write('dns.yaml', `${MINIMAL}components:\n${dns}`);
    expect(summarizeConfig(loadConfig({ path, env: {} }), {}).lines).toContain(line);
  });
});
