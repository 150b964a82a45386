/**
 * What the lab parts that run a simulator service of their own share (aurora, rds, elasticache,
 * azure-cache, azure-flexible): a directory under the lab named after the part, the detached
 * `serve-KEY` process with its pid, announcement and log files there, and its URL in lab.json's
 * `simulators.KEY`. Also the set-up several of them need: dummy AWS keys, the lab's Azure cloud,
 * and an application role to fence on platforms without ALTER SYSTEM.
 */
import { mkdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import { applyRoleFenceGrants, LAB_APP_ROLE } from '../permissions.js';
import { pgQuery } from '../postgres.js';
import type { LabInfo, LabSimulatorInfo } from '../types.js';
import { labCloud, type LabCloud } from './part.js';
import { spawnDetached } from './spawn.js';

interface LabService {
  /** DIR/KEY: the service's files. */
  dir(info: Pick<LabInfo, 'dir'>): string;
  pidFile(info: Pick<LabInfo, 'dir'>): string;
  /** Create its directory (0700) and start `serve-KEY` with `args`; resolves once it is ready. */
  spawn(info: Pick<LabInfo, 'dir'>, args: string[]): Promise<LabSimulatorInfo>;
  /** Its entry in lab.json; only after start (a bug in the lab otherwise, not the user's doing). */
  started(info: LabInfo): LabSimulatorInfo;
}

export function labService(key: string): LabService {
  const dir = (info: Pick<LabInfo, 'dir'>) => join(info.dir, key);
  return {
    dir,
    pidFile: (info) => join(dir(info), `${key}.pid`),
    async spawn(info, args) {
      mkdirSync(dir(info), { recursive: true, mode: 0o700 });
      const d = await spawnDetached<{ pid: number; url: string }>({
        dir: dir(info),
        script: `serve-${key}`,
        args,
        file: `${key}.json`,
        pidFile: `${key}.pid`,
        logName: `${key}.log`,
      });
      return { url: d.url, pid: d.pid, logFile: d.logFile };
    },
    started(info) {
      const s = info.simulators[key];
      if (!s) throw new ProviderError('lab', `the ${key} part was configured before it started`);
      return s;
    },
  };
}

/** Dummy keys for the AWS simulators: the SDK's credential chain wants some; nothing checks them. */
export const LAB_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDLABSIMULATOR',
  AWS_SECRET_ACCESS_KEY: 'lab-simulator-not-a-secret',
};

/** The lab's Azure cloud (Entra ID and CA), which an Azure service checks tokens against. */
export function labAzureCloud(
  info: LabInfo,
  key: string,
): LabCloud & { azure: NonNullable<LabCloud['azure']> } {
  const cloud = labCloud(info);
  if (!cloud?.azure)
    throw new ProviderError(
      'lab',
      `the ${key} part checks tokens of the lab Entra ID: start the simulators with the Azure cloud before it`,
    );
  return cloud as LabCloud & { azure: NonNullable<LabCloud['azure']> };
}

/**
 * RDS and Flexible server give no superuser (no ALTER SYSTEM): the config fences the application's
 * role. Created on the primary, as the platform's admin would; replication carries role and grants
 * to the standby.
 */
export async function createFencedAppRole(info: LabInfo): Promise<void> {
  const admin = info.postgres.primary.url;
  await pgQuery(admin, `CREATE ROLE ${LAB_APP_ROLE} LOGIN`);
  await applyRoleFenceGrants(admin);
}

/**
 * The body of a service's own process (serve-KEY.ts): reads `--dir` and each of `flags` (flag →
 * what its value is, for the usage; exit 2 when one is missing), starts the service, announces it
 * in DIR/KEY.json (written whole: spawnDetached waits for it) and serves until SIGTERM or SIGINT.
 */
export function runLabService<F extends string>(
  key: string,
  flags: Record<F, string>,
  start: (
    dir: string,
    args: Record<F, string>,
  ) => Promise<{ url: string; stop(): Promise<unknown> }>,
): void {
  const arg = (name: string): string | undefined => {
    const at = process.argv.indexOf(`--${name}`);
    return at >= 0 ? process.argv[at + 1] : undefined;
  };
  const names = Object.keys(flags) as F[];
  const dir = arg('dir');
  const args = Object.fromEntries(names.map((f) => [f, arg(f)])) as Record<F, string | undefined>;
  if (!dir || names.some((f) => !args[f])) {
    const usage = names.map((f) => `--${f} ${flags[f]}`).join(' ');
    console.error(`usage: serve-${key} --dir DIR ${usage}`);
    process.exit(2);
  }
  const serve = async (): Promise<void> => {
    const sim = await start(dir, args as Record<F, string>);
    const file = join(dir, `${key}.json`);
    await writeFile(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, url: sim.url })}\n`);
    await rename(`${file}.tmp`, file);
    console.log(`dr lab ${key} simulator ready (pid ${process.pid}) at ${sim.url}`);
    const stop = (): void => void sim.stop().finally(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  };
  serve().catch((err: unknown) => {
    console.error(`dr lab ${key} simulator failed:`, err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
