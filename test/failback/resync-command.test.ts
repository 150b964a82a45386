/**
 * The parts of the resync action that need no servers: the timeline history parsing behind the
 * divergence point, and `dr lab resync` refusing bad input before it touches anything.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIo } from '../../src/cli/main.js';
import { switchpointFrom } from '../../src/providers/postgres/index.js';

function io(env: NodeJS.ProcessEnv): CliIo & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    env,
    stdout: (t: string) => void (o.out += t),
    stderr: (t: string) => void (o.err += t),
  };
  return o;
}

test('the divergence point is where the writer’s history left the stale side’s timeline', () => {
  const history = [
    { parent: 1, switchpoint: '0/3000060' },
    { parent: 2, switchpoint: '0/5000108' },
  ];
  expect(switchpointFrom(history, 1)).toBe('0/3000060');
  expect(switchpointFrom(history, 2)).toBe('0/5000108');
  // Not promoted from timeline 3: no common history, not ours to rewind.
  expect(switchpointFrom(history, 3)).toBeNull();
});

describe('dr lab resync refuses bad input and changes nothing', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dr-resync-'));
    // Only what the guard reads: where the lab's servers listen.
    writeFileSync(
      join(dir, 'lab.json'),
      JSON.stringify({
        dir,
        postgres: {
          bindir: '/nonexistent',
          primary: { name: 'lab-primary', port: 15432, dataDir: join(dir, 'p') },
          secondary: { name: 'lab-secondary', port: 15433, dataDir: join(dir, 's') },
        },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('without DR_RESYNC_STANDBY', async () => {
    const out = io({});
    expect(await main(['lab', 'resync', '--dir', dir], out)).toBe(1);
    expect(out.err).toBe(
      'dr lab resync: DR_RESYNC_STANDBY must be primary or secondary (the side that becomes a standby), got nothing\n',
    );
  });

  test('with an unknown method', async () => {
    const out = io({ DR_RESYNC_STANDBY: 'primary', DR_RESYNC_METHOD: 'copy' });
    expect(await main(['lab', 'resync', '--dir', dir], out)).toBe(1);
    expect(out.err).toContain('DR_RESYNC_METHOD must be rewind or rebuild, got "copy"');
  });

  test('with a target that is not the lab’s server', async () => {
    const out = io({
      DR_RESYNC_STANDBY: 'primary',
      DR_RESYNC_METHOD: 'rewind',
      DR_RESYNC_TARGET_URL: 'postgresql://postgres@db.example:5432/postgres',
    });
    expect(await main(['lab', 'resync', '--dir', dir], out)).toBe(1);
    expect(out.err).toContain(
      `DR_RESYNC_TARGET_URL points at port 5432, but the lab's primary PostgreSQL (lab-primary) listens on 15432`,
    );
  });

  test('in a directory without a lab', async () => {
    const out = io({ DR_RESYNC_STANDBY: 'secondary' });
    expect(await main(['lab', 'resync', '--dir', join(dir, 'nope')], out)).toBe(1);
    // Named, with how to start one there (the lab's own wording).
    expect(out.err).toContain(`${join(dir, 'nope')}/lab.json not found`);
    expect(out.err).toContain('dr lab up --dir');
  });
});
