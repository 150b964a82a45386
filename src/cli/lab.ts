/**
 * `dr lab up|down|status`: thin wrappers over src/lab that print what a person needs next.
 * src/lab is imported lazily so the rest of the CLI does not load process management and simulators.
 */
import { DrError } from '../errors.js';
import type { LabInfo, LabStatus } from '../lab/index.js';
import type { CliIo } from './io.js';

export type LabAction = 'up' | 'down' | 'status';
/** One fixed place by default, so `dr lab status` and `dr lab down` find what `dr lab up` started. */
export const DEFAULT_LAB_DIR = './.lab';

function describeUp(info: LabInfo): string {
  const lines = [
    `lab running in ${info.dir} (servers run as ${info.user})`,
    `  postgres primary    ${info.postgres.primary.url}`,
    `  postgres secondary  ${info.postgres.secondary.url} (streaming standby, ${info.postgres.version})`,
    `  redis primary       ${info.redis.primary.url}`,
    `  redis secondary     ${info.redis.secondary.url} (replica, Redis ${info.redis.version})`,
    ...Object.entries(info.simulators).map(([name, sim]) => `  ${name.padEnd(19)} ${sim.url}`),
    `bot config: ${info.configPath}`,
    `next: dr config check --config ${info.configPath}`,
    `stop: dr lab down --dir ${info.dir}`,
  ];
  return lines.join('\n');
}

function describeStatus(status: LabStatus): string {
  const lines = [`lab in ${status.dir} (bot config ${status.configPath})`];
  const lag = (bytes: number | null | undefined): string => (bytes === undefined || bytes === null ? '' : `, lag ${bytes} B`);
  for (const pg of status.postgres) {
    lines.push(`  postgres ${pg.name.padEnd(14)} ${pg.healthy ? `up, ${pg.role ?? 'role unknown'}${lag(pg.lagBytes)}` : `DOWN${pg.error ? ` (${pg.error})` : ''}`}`);
  }
  for (const r of status.redis) {
    lines.push(`  redis    ${r.name.padEnd(14)} ${r.healthy ? `up, ${r.role ?? 'role unknown'}${lag(r.lagBytes)}` : `DOWN${r.error ? ` (${r.error})` : ''}`}`);
  }
  for (const s of status.simulators) {
    lines.push(`  ${s.name.padEnd(19)} ${s.running === false ? 'DOWN' : 'up'} ${s.url}`);
  }
  return lines.join('\n');
}

export async function runLab(action: LabAction, opts: { dir?: string; io: CliIo }): Promise<number> {
  const { io } = opts;
  const dir = opts.dir ?? DEFAULT_LAB_DIR;
  try {
    const lab = await import('../lab/index.js');
    if (action === 'up') {
      io.stdout(`${describeUp(await lab.labUp({ dir }))}\n`);
    } else if (action === 'down') {
      await lab.labDown({ dir });
      io.stdout(`lab in ${dir} stopped and removed\n`);
    } else {
      io.stdout(`${describeStatus(await lab.labStatus({ dir }))}\n`);
    }
    return 0;
  } catch (err) {
    io.stderr(`dr lab ${action}: ${err instanceof DrError || err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
