/**
 * A throw-away self-signed certificate for 127.0.0.1/localhost. The Azure SDK refuses to send a
 * bearer token over plain http, so the ARM simulator must speak https; clients trust this cert
 * explicitly (the provider's `ca` option), never by turning verification off.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface SelfSignedCert {
  key: string;
  cert: string;
}

export async function selfSignedCert(): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'dr-sim-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '30',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } catch (err) {
    throw new Error(
      `could not create the simulator's TLS certificate with openssl (is it installed?): ${(err as Error).message}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
