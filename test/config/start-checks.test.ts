/**
 * `dr config check` and `dr start` run one set of checks (checkStart): what start refuses, config
 * check refuses too, and `--skip-env` leaves out only what needs the environment. Connection
 * strings are compared as servers, parsed where they are given, and never echoed with a secret.
 */
import { ConfigError } from '../../src/errors.js';
import {
  checkStart,
  checkStartEnvironment,
  loadConfig,
  parseConfig,
  type DrConfig,
} from '../../src/config/index.js';
import { runConfigCheck } from '../../src/cli/config-check.js';
import { configFiles, configRefusal } from '../support/config-files.js';

const SLACK_ENV = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'signing' };
const STATE_ENV = { REDIS_URL: 'redis://dr-state.internal:6379' };

const BASE = `environment: staging
regions:
  primary: { name: eu-west-1 }
  secondary: { name: eu-central-1 }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE, U0123BOB]
`;

const write = configFiles('dr-start-checks-test');

function configCheck(
  path: string,
  env: NodeJS.ProcessEnv,
  skipEnv = false,
): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = runConfigCheck({
    path,
    skipEnv,
    io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env },
  });
  return { code, stdout, stderr };
}

function startRefusal(config: DrConfig, env: NodeJS.ProcessEnv): string {
  try {
    checkStartEnvironment(config, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected dr start to refuse');
}

const fileRefusal = configRefusal;

function components(kind: 'postgres' | 'redis', primary: string, secondary: string): string {
  return `${BASE}components:\n  ${kind}:\n    primary: { ${primary} }\n    secondary: { ${secondary} }\n`;
}

describe('dr config check runs the checks dr start runs', () => {
  const AUDIT = `${BASE}components:\n  postgres:\n    primary: { urlEnv: PGP }\n    secondary: { urlEnv: PGP }\ndetection:\n  tokenEnv: MY_TOKEN\n`;
  const AUDIT_ENV = { PGP: 'postgres://dr@db.internal:5432/app', MY_TOKEN: 't' };

  it('refuses what dr start refuses (the audit example), naming each problem', () => {
    const path = write('audit.yaml', AUDIT);
    const run = configCheck(path, { ...AUDIT_ENV, ...SLACK_ENV, ...STATE_ENV });
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('valid');
    expect(run.stderr).toContain(
      'detection: nothing to probe; set regions.primary.healthUrl or detection.probeUrls',
    );
    expect(run.stderr).toContain(
      'components.postgres: primary and secondary are the same server (db.internal:5432)',
    );

    // Every line dr start prints is in what config check printed.
    const start = startRefusal(loadConfig({ path }), { ...AUDIT_ENV, ...SLACK_ENV, ...STATE_ENV });
    for (const line of start.split('\n').slice(1)) expect(run.stderr).toContain(line.trim());
  });

  it('reports the Slack and state variables dr start needs, like dr start', () => {
    const path = write('slack.yaml', BASE);
    const run = configCheck(path, {});
    expect(run.code).toBe(1);
    // Not "valid": dr start would refuse it. Every missing variable is listed at once.
    expect(run.stdout).not.toContain('valid');
    expect(run.stdout).toContain(`${path}: the file is right, the environment is not (below)`);
    expect(run.stderr).toContain('SLACK_BOT_TOKEN: not set');
    expect(run.stderr).toContain('SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: neither is set');
    expect(run.stderr).toContain('--skip-env');
    // The default state Redis is a warning at start; config check says it too.
    expect(configCheck(path, SLACK_ENV)).toMatchObject({
      code: 0,
      stderr: expect.stringContaining('warning: REDIS_URL is not set'),
    });
    expect(configCheck(path, { ...SLACK_ENV, ...STATE_ENV })).toMatchObject({
      code: 0,
      stderr: '',
    });
  });

  it('with --skip-env still refuses what the file alone gets wrong, and nothing that needs the environment', () => {
    const run = configCheck(write('audit-skip.yaml', AUDIT), {}, true);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('detection: nothing to probe');
    expect(run.stderr).not.toMatch(/SLACK|MY_TOKEN|PGP|same server/);

    // Both sides written in the file: no variable needed, so the same-server check runs too.
    const inFile = configCheck(
      write(
        'same-in-file.yaml',
        components(
          'redis',
          'url: "redis://cache.internal:6379/0"',
          'url: "redis://cache.internal:6379/1"',
        ),
      ),
      {},
      true,
    );
    expect(inFile.code).toBe(1);
    expect(inFile.stderr).toContain(
      'components.redis: primary and secondary are the same server (cache.internal:6379)',
    );

    expect(configCheck(write('ok-skip.yaml', BASE), {}, true)).toMatchObject({
      code: 0,
      stderr: '',
    });
  });

  it('config check shows the Terraform state row and refuses an unset azurerm connection string', () => {
    const text = `${BASE}components:\n  terraformState:\n    primary: { backend: s3, bucket: tf-eu, key: prod.tfstate, region: eu-west-1 }\n    secondary: { backend: azurerm, container: tfstate, key: prod.tfstate, connectionStringEnv: TF_B }\n    maxSerialLag: 2\n`;
    const result = configCheck(write('tf.yaml', text), { ...SLACK_ENV, ...STATE_ENV });
    expect(result.stdout).toContain(
      '  tf state     s3://tf-eu/prod.tfstate vs azurerm tfstate/prod.tfstate via $TF_B; ≤ 2 serial(s) behind, locks stale after 60 min',
    );
    expect(result.stderr).toContain(
      'components.terraformState.secondary.connectionStringEnv: TF_B is not set',
    );
    const bad = `${BASE}components:\n  terraformState:\n    primary: { backend: s3, key: prod.tfstate }\n    secondary: { backend: azurerm, bucket: x, key: k, container: c, accountUrl: "https://a.blob.core.windows.net" }\n`;
    expect(configCheck(write('tf-bad.yaml', bad), {}, true).stderr).toMatch(
      /backend s3 needs `bucket`[\s\S]*bucket, region and endpoint are for backend s3/,
    );
  });

  it('refuses an unset object-storage connection string variable at start, as config check does', () => {
    const text = `${BASE}components:\n  objectStorage:\n    provider: azure-blob\n    primary: { container: a, connectionStringEnv: BLOB_A }\n    secondary: { container: b, accountUrl: "https://b.blob.core.windows.net" }\n`;
    const config = parseConfig(text, 'dr.config.yaml');
    expect(startRefusal(config, { ...SLACK_ENV, ...STATE_ENV })).toContain(
      'components.objectStorage.primary.connectionStringEnv: BLOB_A is not set',
    );
    expect(configCheck(write('blob.yaml', text), { ...SLACK_ENV, ...STATE_ENV }).stderr).toContain(
      'BLOB_A is not set',
    );
    expect(() =>
      checkStartEnvironment(config, {
        ...SLACK_ENV,
        ...STATE_ENV,
        BLOB_A: 'UseDevelopmentStorage=true',
      }),
    ).not.toThrow();
  });

  it('exposes the problems and whether each needs the environment', () => {
    const config = parseConfig(AUDIT, 'dr.config.yaml');
    const all = checkStart(config, { ...AUDIT_ENV, ...SLACK_ENV, ...STATE_ENV });
    expect(all.environment).toBeUndefined();
    expect(all.problems.map((p) => [p.text.split(':')[0], p.needsEnv])).toEqual([
      ['detection', false],
      ['components.postgres', true],
    ]);
    expect(
      checkStart(config, {}, { skipEnv: true }).problems.map((p) => p.text.split(':')[0]),
    ).toEqual(['detection']);
  });
});

describe('the same server, however it is spelled', () => {
  const sameServer = [
    ['redis', 'redis://cache.internal:6379/0', 'redis://cache.internal:6379/1'],
    ['redis', 'redis://cache.internal/0', 'redis://CACHE.internal:6379'],
    ['redis', 'redis://127.0.0.1:6390', 'redis://localhost:6390'],
    ['redis', 'redis://[::1]:6390', 'redis://127.0.0.1:6390/2'],
    ['postgres', 'postgres://dr@db.internal/app', 'postgres://dr@db.internal:5432/app'],
    [
      'postgres',
      'postgres://dr@db.internal:5432/app',
      'postgresql://other@db.internal:5432/reports',
    ],
    ['postgres', 'postgres://dr@localhost:6543/app', 'postgres://dr@127.0.0.1:6543/app'],
  ] as const;

  it.each(sameServer)('%s: %s and %s are refused', (kind, a, b) => {
    const config = parseConfig(components(kind, 'urlEnv: A', 'urlEnv: B'), 'dr.config.yaml');
    expect(startRefusal(config, { ...SLACK_ENV, ...STATE_ENV, A: a, B: b })).toContain(
      `components.${kind}: primary and secondary are the same server`,
    );
  });

  const different = [
    ['redis', 'redis://cache.internal:6379', 'redis://cache.internal:6380'],
    ['redis', 'redis://127.0.0.1:6390', 'redis://127.0.0.2:6390'],
    ['postgres', 'postgres://dr@db-a.internal:5432/app', 'postgres://dr@db-b.internal:5432/app'],
    ['postgres', 'postgres://dr@db.internal:5432/app', 'postgres://dr@db.internal:5433/app'],
  ] as const;

  it.each(different)('%s: %s and %s are two servers', (kind, a, b) => {
    const config = parseConfig(components(kind, 'urlEnv: A', 'urlEnv: B'), 'dr.config.yaml');
    expect(() =>
      checkStartEnvironment(config, { ...SLACK_ENV, ...STATE_ENV, A: a, B: b }),
    ).not.toThrow();
  });

  it("refuses a state REDIS_URL spelled localhost on the application's Redis spelled 127.0.0.1", () => {
    const config = parseConfig(
      components('redis', 'url: "redis://127.0.0.1:6390"', 'url: "redis://127.0.0.1:6391"'),
      'dr.config.yaml',
    );
    expect(startRefusal(config, { ...SLACK_ENV, REDIS_URL: 'redis://localhost:6390' })).toContain(
      "REDIS_URL: points at the same server as components.redis.primary (localhost:6390); the bot's state needs its own Redis outside the primary region",
    );
    // The default state Redis (127.0.0.1:6379) is this machine's too.
    const onDefault = parseConfig(
      components('redis', 'url: "redis://localhost/0"', 'url: "redis://127.0.0.1:6391"'),
      'dr.config.yaml',
    );
    expect(startRefusal(onDefault, SLACK_ENV)).toContain(
      'REDIS_URL: points at the same server as components.redis.primary',
    );
  });
});

describe('connection strings from the environment are parsed at start', () => {
  const config = (): DrConfig =>
    parseConfig(
      components('redis', 'url: "redis://cache-a.internal:6379"', 'urlEnv: RS'),
      'dr.config.yaml',
    );

  it('names the key and the variable of a value that is not a URL', () => {
    const message = startRefusal(config(), { ...SLACK_ENV, ...STATE_ENV, RS: 'not a url' });
    expect(message).toContain(
      'components.redis.secondary.urlEnv: RS does not hold a connection URL; expected redis://[:password@]host[:port][/db]',
    );
    expect(message).not.toContain('not a url');
    const run = configCheck(
      write('rs.yaml', components('redis', 'url: "redis://cache-a.internal:6379"', 'urlEnv: RS')),
      { ...SLACK_ENV, ...STATE_ENV, RS: 'not a url' },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'components.redis.secondary.urlEnv: RS does not hold a connection URL',
    );
  });

  it('refuses a URL of the wrong kind', () => {
    expect(
      startRefusal(config(), {
        ...SLACK_ENV,
        ...STATE_ENV,
        RS: 'postgres://cache-b.internal:6379',
      }),
    ).toContain(
      'components.redis.secondary.urlEnv: RS holds a postgres:// URL; expected redis:// or rediss://',
    );
  });

  it.each([
    ['@ and # in the password (the audit example)', 'postgres://dr:p@ss#x@127.0.0.1:2/app'],
    ['# in the password', 'postgres://dr:qk@zw#xv@127.0.0.1:2/app'],
    ['/ in the password', 'postgres://dr:qk/zw@127.0.0.1:2/app'],
    ['? in the password', 'postgres://dr:12?34@127.0.0.1:2/app'],
    ['a stray % in the password', 'postgres://dr:qk%zw@127.0.0.1:2/app'],
  ])('says a password with %s needs percent-encoding, without printing it', (_what, url) => {
    const pg = parseConfig(
      components('postgres', 'urlEnv: PGA', 'url: "postgres://dr@db-b.internal/app"'),
      'dr.config.yaml',
    );
    const message = startRefusal(pg, { ...SLACK_ENV, ...STATE_ENV, PGA: url });
    expect(message).toContain(
      'components.postgres.primary.urlEnv: the user name or password in PGA has characters that must be percent-encoded',
    );
    const password = url.slice('postgres://dr:'.length, url.lastIndexOf('@'));
    expect(message).not.toContain(password);
    // Not even a piece of it, such as the "host" a parser would make of the audit example's "ss".
    for (const part of password.split(/[@#/?%]/).filter((p) => p.length > 1))
      expect(message).not.toMatch(new RegExp(`\\b${part}\\b`));
  });

  it('accepts an encoded password, and a query that holds an @', () => {
    const pg = parseConfig(
      components('postgres', 'urlEnv: PGA', 'url: "postgres://dr@db-b.internal/app"'),
      'dr.config.yaml',
    );
    expect(() =>
      checkStartEnvironment(pg, {
        ...SLACK_ENV,
        ...STATE_ENV,
        PGA: 'postgres://dr:p%40ss%23x@127.0.0.1:2/app',
      }),
    ).not.toThrow();
    expect(() =>
      checkStartEnvironment(pg, {
        ...SLACK_ENV,
        ...STATE_ENV,
        PGA: 'postgres://dr@127.0.0.1:2/app?application_name=dr@bot',
      }),
    ).not.toThrow();
  });

  it('refuses a state REDIS_URL that does not parse, without echoing it', () => {
    const message = startRefusal(parseConfig(BASE, 'dr.config.yaml'), {
      ...SLACK_ENV,
      REDIS_URL: 'redis://:se#cret@state:6379',
    });
    expect(message).toContain(
      'REDIS_URL: the user name or password has characters that must be percent-encoded',
    );
    expect(message).not.toContain('se#cret');
  });

  it('refuses a sentinel password without the sentinels, without echoing it', () => {
    const message = startRefusal(parseConfig(BASE, 'dr.config.yaml'), {
      ...SLACK_ENV,
      ...STATE_ENV,
      REDIS_SENTINEL_PASSWORD: 'sent1nel-secret',
    });
    expect(message).toContain(
      'REDIS_SENTINEL_PASSWORD: set, but REDIS_SENTINELS is not: list the sentinels',
    );
    expect(message).not.toContain('sent1nel-secret');
  });

  it('refuses a master password without the sentinels, or a master user without a password', () => {
    const config = parseConfig(BASE, 'dr.config.yaml');
    const stray = startRefusal(config, {
      ...SLACK_ENV,
      ...STATE_ENV,
      REDIS_SENTINEL_MASTER_PASSWORD: 'mast3r-secret',
    });
    expect(stray).toContain(
      'REDIS_SENTINEL_MASTER_PASSWORD: set, but REDIS_SENTINELS is not: list the sentinels',
    );
    expect(stray).not.toContain('mast3r-secret');
    expect(
      startRefusal(config, {
        ...SLACK_ENV,
        REDIS_SENTINELS: '127.0.0.1:26379',
        REDIS_SENTINEL_MASTER: 'drstate',
        REDIS_SENTINEL_MASTER_USERNAME: 'dr',
      }),
    ).toContain(
      "REDIS_SENTINEL_MASTER_USERNAME: set, but REDIS_SENTINEL_MASTER_PASSWORD is not: give the master's password too",
    );
  });
});

describe('no secrets in the file', () => {
  it.each([
    ['redis', 'redis://cache:6379/0?password=hunter2'],
    ['redis', 'redis://cache:6379/0?db=1&Password=hunter2'],
    ['postgres', 'postgres://dr@db:5432/app?password=hunter2'],
    ['postgres', 'postgres://dr@db:5432/app?sslmode=verify-full&sslpassword=hunter2'],
  ] as const)('%s: refuses a password in the query of %s', (kind, url) => {
    const message = fileRefusal(components(kind, `url: "${url}"`, 'urlEnv: B'));
    expect(message).toContain(
      `components.${kind}.primary: this url carries a password in its query; put the whole connection string in an environment variable and name it with \`urlEnv\``,
    );
    expect(message).not.toContain('hunter2');
  });

  it.each([
    ['redis', 'redis://:hunter2@cache:6379'],
    ['redis', 'redis://default:hunter2@cache:6379'],
    ['postgres', 'postgres://dr:hun/ter2@db:5432/app'],
    ['postgres', 'postgresql://dr:hunter2@[::1]:5432/app'],
  ] as const)('%s: refuses a password in the user info of %s', (kind, url) => {
    const message = fileRefusal(components(kind, `url: "${url}"`, 'urlEnv: B'));
    expect(message).toContain(
      `components.${kind}.primary: this url contains a password: put it in an environment variable and use \`urlEnv\``,
    );
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('ter2');
  });

  it('refuses a url in the file that is not a connection URL of its kind', () => {
    expect(fileRefusal(components('redis', 'url: "cache:6379"', 'urlEnv: B'))).toContain(
      'components.redis.primary.url: not a connection URL; expected redis://host[:port][/db]',
    );
    expect(fileRefusal(components('postgres', 'url: "redis://db:5432"', 'urlEnv: B'))).toContain(
      'components.postgres.primary.url: a redis:// URL; expected postgres:// or postgresql://',
    );
  });

  it('accepts a password-less url with harmless query parameters', () => {
    expect(() =>
      parseConfig(
        components(
          'postgres',
          'url: "postgres://dr@db-a:5432/app?sslmode=require"',
          'url: "postgres://dr@db-b/app"',
        ),
        'dr.config.yaml',
      ),
    ).not.toThrow();
  });
});

describe('Slack tokens of the wrong kind', () => {
  const config = (): DrConfig => parseConfig(BASE, 'dr.config.yaml');

  it('refuses a user token as the bot token, without printing it', () => {
    const message = startRefusal(config(), {
      ...STATE_ENV,
      SLACK_BOT_TOKEN: 'xoxp-1111-2222-secretpart',
      SLACK_SIGNING_SECRET: 's',
    });
    expect(message).toContain(
      'SLACK_BOT_TOKEN: this is a user token (xoxp-…); the bot needs the Bot User OAuth Token (xoxb-…) from the Slack app\'s "OAuth & Permissions" page',
    );
    expect(message).not.toContain('secretpart');
    expect(message).not.toContain('1111');
  });

  it('refuses an app-level token as the bot token, and a bot token as the app token', () => {
    const message = startRefusal(config(), {
      ...STATE_ENV,
      SLACK_BOT_TOKEN: 'xapp-1-A-secret',
      SLACK_APP_TOKEN: 'xoxb-1-secret',
    });
    expect(message).toContain(
      'SLACK_BOT_TOKEN: this is an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN;',
    );
    expect(message).toContain(
      'SLACK_APP_TOKEN: this is a bot token (xoxb-…), which belongs in SLACK_BOT_TOKEN;',
    );
    expect(message).not.toContain('secret');
  });

  it('refuses a bot token of no known kind without echoing any of it', () => {
    const message = startRefusal(config(), {
      ...STATE_ENV,
      SLACK_BOT_TOKEN: 'abcdef-secret',
      SLACK_SIGNING_SECRET: 's',
    });
    expect(message).toContain('SLACK_BOT_TOKEN: not a bot token: it starts with xoxb-');
    expect(message).not.toContain('abcdef');
  });

  it('is flagged by config check too, and skipped with --skip-env', () => {
    const path = write('token.yaml', BASE);
    const run = configCheck(path, {
      ...STATE_ENV,
      SLACK_BOT_TOKEN: 'xoxp-1-secretpart',
      SLACK_SIGNING_SECRET: 's',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('SLACK_BOT_TOKEN: this is a user token (xoxp-…)');
    expect(run.stderr).not.toContain('secretpart');
    expect(configCheck(path, { SLACK_BOT_TOKEN: 'xoxp-1-secretpart' }, true).code).toBe(0);
  });
});

describe('PostgreSQL over a unix socket, as pg reads it', () => {
  it.each([
    [
      'the socket directory in ?host= with an empty host',
      'postgres://dr@/app?host=/var/run/postgresql',
    ],
    ['a password and ?host=', 'postgres://dr:p%40ss@/app?host=/var/run/postgresql'],
    ['no user, no host', 'postgresql:///app?host=/var/run/postgresql'],
    ['the percent-encoded directory as the host', 'postgres://dr@%2Fvar%2Frun%2Fpostgresql/app'],
    ['the plain directory and database', '/var/run/postgresql app'],
  ])('accepts %s', (_what, url) => {
    const pg = parseConfig(
      components('postgres', 'urlEnv: PGA', 'url: "postgres://dr@db-b.internal/app"'),
      'dr.config.yaml',
    );
    expect(() => checkStartEnvironment(pg, { ...SLACK_ENV, ...STATE_ENV, PGA: url })).not.toThrow();
  });

  it('accepts a password-less socket url written in the file', () => {
    expect(() =>
      parseConfig(
        components(
          'postgres',
          'url: "postgres://dr@/app?host=/var/run/postgresql"',
          'url: "postgres://dr@db-b.internal/app"',
        ),
        'dr.config.yaml',
      ),
    ).not.toThrow();
  });

  it.each([
    ['/var/run/postgresql app', 'postgresql:///reports?host=/var/run/postgresql'],
    ['postgres://dr@/app?host=/var/run/postgresql/', 'postgres://dr@%2Fvar%2Frun%2Fpostgresql/app'],
    ['/var/run/postgresql app', 'postgres://dr@/app?host=/var/run/postgresql&port=5432'],
  ])('%s and %s are the same server', (a, b) => {
    const config = parseConfig(components('postgres', 'urlEnv: A', 'urlEnv: B'), 'dr.config.yaml');
    expect(startRefusal(config, { ...SLACK_ENV, ...STATE_ENV, A: a, B: b })).toContain(
      'components.postgres: primary and secondary are the same server',
    );
  });

  it('one socket directory with two ports is two servers', () => {
    const config = parseConfig(components('postgres', 'urlEnv: A', 'urlEnv: B'), 'dr.config.yaml');
    expect(() =>
      checkStartEnvironment(config, {
        ...SLACK_ENV,
        ...STATE_ENV,
        A: '/var/run/postgresql app',
        B: 'postgres://dr@/app?host=/var/run/postgresql&port=5433',
      }),
    ).not.toThrow();
  });
});

describe("several hosts in one URL (libpq's host1,host2 form)", () => {
  it.each([
    [
      'postgres',
      'postgres://dr:secret@db-a.internal:5432,db-b.internal:5432/app?target_session_attrs=read-write',
    ],
    ['postgres', 'postgres://dr:secret@db-a.internal,db-b.internal/app'],
    ['postgres', 'postgres://dr:secret@/app?host=db-a.internal,db-b.internal'],
    ['redis', 'redis://:secret@cache-a.internal:6379,cache-b.internal:6379/0'],
  ] as const)('%s: %s is refused as such, not as a percent-encoding problem', (kind, url) => {
    const config = parseConfig(
      components(kind, 'urlEnv: A', `url: "${kind}://dr@other.internal:1"`),
      'dr.config.yaml',
    );
    const message = startRefusal(config, { ...SLACK_ENV, ...STATE_ENV, A: url });
    expect(message).toContain(
      `components.${kind}.primary.urlEnv: A lists several hosts; the bot connects to one server per side: give each side's own host`,
    );
    expect(message).not.toContain('percent-encoded');
    expect(message).not.toContain('secret');
  });

  it('in the file too', () => {
    expect(
      fileRefusal(
        components('postgres', 'url: "postgres://dr@db-a:5432,db-b:5432/app"', 'urlEnv: B'),
      ),
    ).toContain(
      "components.postgres.primary.url: lists several hosts; the bot connects to one server per side: give each side's own host",
    );
  });
});
