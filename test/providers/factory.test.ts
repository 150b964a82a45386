import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';

const BASE = `environment: staging
regions:
  primary: { name: a }
  secondary: { name: b }
slack: { incidentChannel: C0123ABCD }
approvals: { approvers: [U0123ALICE] }
`;
const log = createLogger({ level: 'silent' });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dr-factory-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(name: string, components: string) {
  const path = join(dir, name);
  writeFileSync(path, `${BASE}${components}`);
  return loadConfig({ path, env: {} });
}

describe('createProviders', () => {
  it('builds nothing when nothing is configured, so every step skips as not configured', () => {
    expect(createProviders(config('none.yaml', ''), {}, log)).toEqual({});
  });

  it('builds the provider of each configured component', async () => {
    const c = config(
      'some.yaml',
      `components:
  postgres:
    primary: { urlEnv: PG_PRIMARY }
    secondary: { url: "postgres://127.0.0.1:1/app" }
  redis:
    primary: { url: "redis://127.0.0.1:1" }
    secondary: { urlEnv: REDIS_SECONDARY }
  dns:
    provider: route53
    route53:
      hostedZoneId: Z1
      recordName: app.example.com
      primarySetIdentifier: primary
      secondarySetIdentifier: secondary
      primaryHealthCheckId: hc-1
      endpoint: http://127.0.0.1:1
  kubernetes:
    primary: { context: a }
    secondary: { context: b }
    workloads: [{ kind: Deployment, namespace: app, name: web, productionReplicas: 2, standbyReplicas: 0 }]
  verification:
    secondary:
      http: [{ name: health, url: "http://127.0.0.1:1/healthz" }]
`,
    );
    const providers = createProviders(
      c,
      { PG_PRIMARY: 'postgres://dr:pw@127.0.0.1:1/app', REDIS_SECONDARY: 'redis://127.0.0.1:2' },
      log,
    );
    expect({
      database: providers.database?.name,
      cache: providers.cache?.name,
      dns: providers.dns?.name,
      cluster: providers.cluster?.name,
      verification: providers.verification?.name,
    }).toEqual({
      database: 'postgres',
      cache: 'redis',
      dns: 'route53',
      cluster: 'kubernetes',
      verification: 'verification',
    });
    await closeProviders(providers, log);
  });

  it('builds the health endpoints from regions.*.healthUrl, even without components', async () => {
    const path = join(dir, 'health.yaml');
    writeFileSync(
      path,
      BASE.replace(
        'primary: { name: a }',
        'primary: { name: a, healthUrl: "https://a.example.com/healthz" }',
      ),
    );
    const providers = createProviders(loadConfig({ path, env: {} }), {}, log);
    expect(Object.keys(providers)).toEqual(['health']);
    expect(providers.health?.url('primary')).toBe('https://a.example.com/healthz');
    expect(providers.health?.url('secondary')).toBeNull();
    await closeProviders(providers, log);
  });

  it('builds Traffic Manager when the DNS provider says so', async () => {
    const c = config(
      'tm.yaml',
      `components:
  dns:
    provider: traffic-manager
    trafficManager:
      subscriptionId: 00000000-0000-0000-0000-000000000000
      resourceGroup: rg
      profileName: app-tm
      primaryEndpoint: west
      secondaryEndpoint: north
      endpoint: https://127.0.0.1:1
`,
    );
    const providers = createProviders(c, {}, log);
    expect(Object.keys(providers)).toEqual(['dns']);
    expect(providers.dns?.name).toBe('traffic-manager');
    await closeProviders(providers, log);
  });

  it('stops start-up when the Traffic Manager CA file cannot be read', () => {
    const c = config(
      'tm-ca.yaml',
      `components:
  dns:
    provider: traffic-manager
    resolverServers: ["127.0.0.1:5353"]
    trafficManager:
      subscriptionId: 00000000-0000-0000-0000-000000000000
      resourceGroup: rg
      profileName: app-tm
      primaryEndpoint: west
      secondaryEndpoint: north
      endpoint: https://127.0.0.1:1
      caFile: ${join(dir, 'missing-ca.pem')}
`,
    );
    expect(() => createProviders(c, {}, log)).toThrow(
      new ConfigError(
        `components.dns.trafficManager.caFile: cannot read ${join(dir, 'missing-ca.pem')} (ENOENT); give the path of a PEM file`,
      ),
    );
  });

  it('stops start-up naming the variable when a connection string is missing', () => {
    const c = config(
      'noenv.yaml',
      'components:\n  postgres:\n    primary: { urlEnv: PG_PRIMARY }\n    secondary: { urlEnv: PG_SECONDARY }\n',
    );
    expect(() => createProviders(c, { PG_PRIMARY: 'postgres://127.0.0.1:1/app' }, log)).toThrow(
      new ConfigError(
        'components.postgres.secondary.urlEnv: environment variable PG_SECONDARY is not set; set it to the connection string (e.g. postgres://user:password@host:5432/db)',
      ),
    );
  });
});
