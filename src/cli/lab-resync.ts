/**
 * `dr lab resync`: the lab's postgres.resync.command. The provider runs it with DR_RESYNC_STANDBY,
 * DR_RESYNC_METHOD and DR_RESYNC_TARGET_URL set; it rewinds or rebuilds that lab server as a
 * standby of the other one. src/lab is imported lazily like the other lab commands.
 */
import { DrError } from '../errors.js';
import type { CliIo } from './io.js';
import { DEFAULT_LAB_DIR } from './lab.js';

export async function runLabResync(opts: { dir?: string; io: CliIo }): Promise<number> {
  const { io } = opts;
  try {
    const { labResync, resyncRequestFromEnv } = await import('../lab/resync.js');
    const result = await labResync(resyncRequestFromEnv(opts.dir ?? DEFAULT_LAB_DIR, io.env));
    const how = result.method === 'rewind' ? 'rewound (pg_rewind)' : 'rebuilt (pg_basebackup)';
    io.stdout(
      `${result.server} ${how}: streaming from ${result.source} over slot ${result.slot} (pid ${result.pid})\n`,
    );
    return 0;
  } catch (err) {
    io.stderr(
      `dr lab resync: ${err instanceof DrError || err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
}
