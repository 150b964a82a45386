import { Writable } from 'node:stream';
import { createLogger, describeUrl, scrubSecrets } from '../src/log.js';

function capture(): {
  lines: () => Record<string, unknown>[];
  raw: () => string;
  stream: Writable;
} {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    stream,
    raw: () => text,
    lines: () =>
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * The top-level keys of one JSON object as written, duplicates included (JSON.parse keeps only
 * one of two equal keys, so it cannot see them).
 */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

function expectUniqueKeys(raw: string): void {
  for (const line of raw.trim().split('\n')) {
    const keys = topLevelKeys(line);
    expect({ line, duplicates: keys.filter((k, i) => keys.indexOf(k) !== i) }).toEqual({
      line,
      duplicates: [],
    });
  }
}

describe('createLogger', () => {
  it('writes JSON lines with the operation id and step of a child logger', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream });
    log
      .child({ opId: 'DR-20261125-093015' })
      .child({ step: 'promote-database' })
      .info('promoting the standby');
    expect(out.lines()[0]).toMatchObject({
      level: 'info',
      opId: 'DR-20261125-093015',
      step: 'promote-database',
      msg: 'promoting the standby',
    });
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
    log.error(
      { err: new Error('connect failed for postgres://dr_bot:pw-in-error@db.internal/app') },
      'promotion failed',
    );
    log.warn('slack said no to token xoxb-999-888-zzz');
    const raw = out.raw();
    for (const secret of [
      'xoxb-111',
      'sign-me',
      'xapp-1',
      'pw-plain',
      'pw-in-url',
      'pw-in-msg',
      'pw-in-error',
      'xoxb-999',
    ]) {
      expect(raw).not.toContain(secret);
    }
    const [first, second] = out.lines();
    expect(first.target).toBe('postgres://dr_bot:***@db.internal:5432/app');
    expect(first.msg).toBe('connecting to redis://:***@cache:6379');
    expect((second.err as { message: string }).message).toBe(
      'connect failed for postgres://dr_bot:***@db.internal/app',
    );
  });

  it('keeps the environment name but blanks secret variables of an environment dump', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream }).child({ env: 'prod' });
    log.info(
      {
        vars: {
          SLACK_SIGNING_SECRET: 'sig-value',
          AWS_SECRET_ACCESS_KEY: 'aws-value',
          PORT: '3000',
        },
      },
      'environment',
    );
    const [line] = out.lines();
    expect(line.env).toBe('prod');
    expect(line.vars).toEqual({
      SLACK_SIGNING_SECRET: '[redacted]',
      AWS_SECRET_ACCESS_KEY: '[redacted]',
      PORT: '3000',
    });
  });

  it("writes each key once: a nested child replaces a binding of its parent, a line's field replaces a binding", () => {
    expect(topLevelKeys('{"a":1,"b":{"a":2,"c":"x\\"y"},"a":[{"d":1}]}')).toEqual(['a', 'b', 'a']);
    const out = capture();
    const app = createLogger({ destination: out.stream }).child({ env: 'prod' });
    // As dr start wires them: the Slack bot's child, the Web API client's under it, the engine's env again.
    app.child({ component: 'slack' }).child({ component: 'slack-web-api' }).warn('slack said no');
    app
      .child({ component: 'engine', env: 'prod' })
      .child({ opId: 'DR-20261125-093015' })
      .info({ opId: 'DR-20261125-093015', step: 'switch-dns' }, 'step started');
    app
      .child({ component: 'drill-reporter' })
      .info({ component: 'object-storage' }, 'drill measurement recorded');
    expectUniqueKeys(out.raw());
    const [slack, engine, measure] = out.lines();
    expect(slack).toMatchObject({
      name: 'dr-bot',
      env: 'prod',
      component: 'slack-web-api',
      msg: 'slack said no',
    });
    expect(engine).toMatchObject({
      env: 'prod',
      component: 'engine',
      opId: 'DR-20261125-093015',
      step: 'switch-dns',
    });
    expect(measure).toMatchObject({ component: 'object-storage' });
    // The bindings a logger reports are the merged ones; the parent keeps its own.
    expect(app.child({ env: 'staging' }).bindings()).toEqual({ name: 'dr-bot', env: 'staging' });
    expect(app.bindings()).toEqual({ name: 'dr-bot', env: 'prod' });
  });

  it('redacts and scrubs bound fields like logged ones, and a child keeps its own level', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream }).child({
      token: 'xoxb-bound-1',
      target: 'redis://:pw-bound@cache:6379',
    });
    log.info('bound');
    log.child({ opId: 'DR-20261125-0002' }, { level: 'debug' }).debug('debug in the child');
    log.debug('not at debug in the parent');
    expect(out.raw()).not.toContain('xoxb-bound-1');
    expect(out.raw()).not.toContain('pw-bound');
    expect(out.lines().map((l) => l.msg)).toEqual(['bound', 'debug in the child']);
    expect(out.lines()[0]).toMatchObject({
      token: '[redacted]',
      target: 'redis://:***@cache:6379',
    });
    expectUniqueKeys(out.raw());
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
    expect(describeUrl('rediss://default:pw@state.internal:6380/0')).toBe(
      'rediss://state.internal:6380/0',
    );
  });
  it('scrubSecrets leaves text without secrets alone', () => {
    expect(scrubSecrets('standby replay lag 0 B, https://status.example.com/healthz ok')).toBe(
      'standby replay lag 0 B, https://status.example.com/healthz ok',
    );
  });
});
