import { Writable } from 'node:stream';
import { createLogger, describeUrl, scrubSecrets } from '../src/log.js';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string; stream: Writable } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, raw: () => text, lines: () => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes JSON lines with the operation id and step of a child logger', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.child({ opId: 'DR-20261125-0001' }).child({ step: 'promote-database' }).info('promoting the standby');
    expect(out.lines()[0]).toMatchObject({ level: 'info', opId: 'DR-20261125-0001', step: 'promote-database', msg: 'promoting the standby' });
  });

  it('never writes tokens, secrets, passwords or credentials inside urls', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', destination: out.stream });
    log.info(
      {
        slack: { botToken: 'xoxb-111-222-aaa', signingSecret: 'sign-me' },
        token: 'xapp-1-A-bbb',
        db: { password: 'pw-plain' },
        config: { postgres: { url: 'postgres://host/db' } },
        target: 'postgres://dr_bot:pw-in-url@db.internal:5432/app',
      },
      'connecting to redis://:pw-in-msg@cache:6379',
    );
    log.error({ err: new Error('connect failed for postgres://dr_bot:pw-in-error@db.internal/app') }, 'promotion failed');
    log.warn('slack said no to token xoxb-999-888-zzz');
    const raw = out.raw();
    for (const secret of ['xoxb-111', 'sign-me', 'xapp-1', 'pw-plain', 'pw-in-url', 'pw-in-msg', 'pw-in-error', 'xoxb-999']) {
      expect(raw).not.toContain(secret);
    }
    const [first, second] = out.lines();
    expect(first.target).toBe('postgres://dr_bot:***@db.internal:5432/app');
    expect(first.msg).toBe('connecting to redis://:***@cache:6379');
    expect((second.err as { message: string }).message).toBe('connect failed for postgres://dr_bot:***@db.internal/app');
  });

  it('keeps the environment name but blanks secret variables of an environment dump', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream }).child({ env: 'prod' });
    log.info({ vars: { SLACK_SIGNING_SECRET: 'sig-value', AWS_SECRET_ACCESS_KEY: 'aws-value', PORT: '3000' } }, 'environment');
    const [line] = out.lines();
    expect(line.env).toBe('prod');
    expect(line.vars).toEqual({ SLACK_SIGNING_SECRET: '[redacted]', AWS_SECRET_ACCESS_KEY: '[redacted]', PORT: '3000' });
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('not shown');
    log.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });
});

describe('url helpers', () => {
  it('describeUrl keeps host and path and drops credentials', () => {
    expect(describeUrl('rediss://default:pw@state.internal:6380/0')).toBe('rediss://state.internal:6380/0');
  });
  it('scrubSecrets leaves text without secrets alone', () => {
    expect(scrubSecrets('standby replay lag 0 B, https://status.example.com/healthz ok')).toBe(
      'standby replay lag 0 B, https://status.example.com/healthz ok',
    );
  });
});
