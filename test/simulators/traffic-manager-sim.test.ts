import https from 'node:https';
import {
  startTrafficManagerSimulator,
  type TrafficManagerSim,
} from '../../src/lab/simulators/index.js';

let sim: TrafficManagerSim;
beforeAll(async () => {
  sim = await startTrafficManagerSimulator();
});
afterAll(async () => {
  await sim.stop();
});

/** ARM over https, trusting only the simulator's certificate. */
function arm(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null; apiVersion?: string } = {},
): Promise<{ status: number; body: any }> {
  const url = new URL(`${sim.url}${path}`);
  url.searchParams.set('api-version', opts.apiVersion ?? '2022-04-01');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? sim.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: sim.ca }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined }),
      );
    });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

const profilePath = () =>
  `/subscriptions/${sim.subscriptionId}/resourceGroups/${sim.resourceGroup}/providers/Microsoft.Network/trafficmanagerprofiles/${sim.profileName}`;

test('a profile GET is ARM JSON with DNS config, monitor config and endpoints with their monitor status', async () => {
  const res = await arm('GET', profilePath());
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    name: sim.profileName,
    type: 'Microsoft.Network/trafficManagerProfiles',
    properties: {
      trafficRoutingMethod: 'Priority',
      dnsConfig: { fqdn: sim.fqdn, ttl: 60 },
      monitorConfig: { profileMonitorStatus: 'Online' },
      endpoints: [
        {
          name: 'primary',
          type: 'Microsoft.Network/trafficManagerProfiles/externalEndpoints',
          properties: { endpointStatus: 'Enabled', endpointMonitorStatus: 'Online', priority: 1 },
        },
        { name: 'secondary', properties: { priority: 2 } },
      ],
    },
  });
});

test('an unsupported api-version, a missing token and an unknown profile get ARM errors', async () => {
  expect(await arm('GET', profilePath(), { apiVersion: '2015-01-01' })).toMatchObject({
    status: 400,
    body: { error: { code: 'InvalidApiVersionParameter' } },
  });
  expect(await arm('GET', profilePath(), { token: null })).toMatchObject({
    status: 401,
    body: { error: { code: 'AuthenticationFailed' } },
  });
  expect(await arm('GET', profilePath().replace(sim.profileName, 'other'))).toMatchObject({
    status: 404,
    body: { error: { code: 'ResourceNotFound' } },
  });
});

test('endpoints: PUT replaces, PATCH merges, priorities stay unique', async () => {
  const ep = `${profilePath()}/externalEndpoints/secondary`;
  const put = await arm('PUT', ep, {
    body: { properties: { target: 'dr.example.net', endpointStatus: 'Enabled', priority: 5 } },
  });
  expect(put).toMatchObject({
    status: 200,
    body: { properties: { target: 'dr.example.net', priority: 5 } },
  });
  const clash = await arm('PATCH', ep, { body: { properties: { priority: 1 } } });
  expect(clash.status).toBe(400);
  expect(clash.body.error.message).toContain("already used by endpoint 'primary'");
  const patch = await arm('PATCH', ep, { body: { properties: { endpointStatus: 'Disabled' } } });
  expect(patch.body.properties).toMatchObject({
    endpointStatus: 'Disabled',
    endpointMonitorStatus: 'Disabled',
    target: 'dr.example.net',
    priority: 5,
  });
});
