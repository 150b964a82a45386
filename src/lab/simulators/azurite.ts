/**
 * Azurite's blob service (Microsoft's storage emulator, a dev dependency) on a free port, for the
 * Azure lab and the Azure Blob tests: the real @azure/storage-blob SDK talks to it with Azurite's
 * well-known development account. Runs with its cwd in its data dir, so the lab's clean-up finds it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PreconditionFailed } from '../../errors.js';
import { freePorts } from '../system.js';

/** Azurite's well-known development account (public, documented by Microsoft). */
const ACCOUNT = 'devstoreaccount1';
const KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  connectionString: string;
  stop(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function azuriteBlobMain(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('azurite/package.json');
    return join(dirname(pkg), 'dist', 'src', 'blob', 'main.js');
  } catch {
    throw new PreconditionFailed(
      'Azurite is not installed: the Azure lab needs the dev dependencies (npm install, not npm install --omit=dev)',
    );
  }
}

/** Start azurite-blob; `dir` holds its data (default a temp dir removed on stop). */
export async function startAzurite(opts: { dir?: string } = {}): Promise<Azurite> {
  const [port] = await freePorts(1);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'dr-azurite-'));
  mkdirSync(dir, { recursive: true });
  const args = ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      azuriteBlobMain(),
      ...args,
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const removeDir = () => {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  while (!(await listening(port!))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      removeDir();
      throw new Error(
        `azurite-blob did not start on port ${port}: ${stderr.trim() || `exit ${child.exitCode}`}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      removeDir();
    },
  };
}
