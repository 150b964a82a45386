import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { spawnSimulators, type SpawnedSimulators } from '../../src/lab/simulators/index.js';

let dir: string;
let sims: SpawnedSimulators | undefined;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-sim-spawn-'));
});

afterAll(async () => {
  if (sims && alive(sims.pid)) process.kill(sims.pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('the detached simulator process serves, obeys its control API, and stops on SIGTERM', async () => {
  sims = await spawnSimulators({ dir });
  expect(alive(sims.pid)).toBe(true);
  expect((await fetch(sims.health.primaryUrl)).status).toBe(200);
  const resolve = createResolver({ servers: [sims.route53.dnsServer] });
  expect(await resolve(sims.route53.recordName, 'A')).toEqual(['10.0.1.10']);

  // The primary region goes dark: its health endpoint stops, Route 53 fails over by itself.
  const down = await fetch(`${sims.controlUrl}/health/primary/stop`, { method: 'POST' });
  expect(await down.json()).toEqual({ region: 'primary', healthy: true, running: false });
  await expect(fetch(sims.health.primaryUrl)).rejects.toThrow();
  expect(await resolve(sims.route53.recordName, 'A')).toEqual(['10.0.2.10']);
  const state = (await (await fetch(`${sims.controlUrl}/state`)).json()) as {
    trafficManager: { served: string };
  };
  expect(state.trafficManager.served).toBe('secondary');

  process.kill(sims.pid, 'SIGTERM');
  while (alive(sims.pid)) await new Promise((r) => setTimeout(r, 20));
  await expect(fetch(sims.controlUrl)).rejects.toThrow();
});
