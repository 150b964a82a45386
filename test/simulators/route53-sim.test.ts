import { GetHealthCheckCommand, Route53Client } from '@aws-sdk/client-route-53';
import { createResolver } from '../../src/providers/dns-resolve.js';
import {
  startRoute53ArcSimulator,
  startRoute53Simulator,
  type Route53Sim,
} from '../../src/lab/simulators/index.js';

let sim: Route53Sim;
beforeEach(async () => {
  sim = await startRoute53Simulator({ changeDelayMs: 50 });
});
afterEach(async () => {
  await sim.stop();
});

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const batch = (changes: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="${NS}"><ChangeBatch><Changes>${changes}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`;
const upsert = (id: string, failover: string, value: string) =>
  `<Change><Action>UPSERT</Action><ResourceRecordSet><Name>${sim.recordName}</Name><Type>A</Type><SetIdentifier>${id}</SetIdentifier><Failover>${failover}</Failover><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>${value}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>`;

test('TestDNSAnswer speaks REST-XML with RecordDataEntry items', async () => {
  const res = await fetch(
    `${sim.url}/2013-04-01/testdnsanswer?hostedzoneid=${sim.zoneId}&recordname=${sim.recordName}&recordtype=A`,
  );
  const body = await res.text();
  expect(res.status).toBe(200);
  expect(body).toContain(`<TestDNSAnswerResponse xmlns="${NS}">`);
  expect(body).toContain('<RecordData><RecordDataEntry>10.0.1.10</RecordDataEntry></RecordData>');
  expect(body).toContain('<ResponseCode>NOERROR</ResponseCode>');
});

test('errors use the ErrorResponse envelope with the AWS code', async () => {
  const res = await fetch(`${sim.url}/2013-04-01/hostedzone/ZNOPE`);
  expect(res.status).toBe(404);
  expect(await res.text()).toMatch(
    /<ErrorResponse xmlns=".*"><Error><Type>Sender<\/Type><Code>NoSuchHostedZone<\/Code><Message>No hosted zone found with ID: ZNOPE<\/Message><\/Error>/,
  );
});

test('a batch leaving two PRIMARY records is rejected whole; a valid one is PENDING, then INSYNC', async () => {
  const bad = await fetch(`${sim.url}/2013-04-01/hostedzone/${sim.zoneId}/rrset`, {
    method: 'POST',
    body: batch(upsert(sim.secondarySetIdentifier, 'PRIMARY', '10.0.2.10')),
  });
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('InvalidChangeBatch');
  expect(sim.records().find((r) => r.setIdentifier === sim.secondarySetIdentifier)?.failover).toBe(
    'SECONDARY',
  );

  const ok = await fetch(`${sim.url}/2013-04-01/hostedzone/${sim.zoneId}/rrset`, {
    method: 'POST',
    body: batch(
      upsert(sim.secondarySetIdentifier, 'PRIMARY', '10.0.2.10') +
        upsert(sim.primarySetIdentifier, 'SECONDARY', '10.0.1.10'),
    ),
  });
  const info = await ok.text();
  expect(info).toContain('<Status>PENDING</Status>');
  const id = /<Id>\/change\/([^<]+)<\/Id>/.exec(info)![1];
  let status = 'PENDING';
  while (status === 'PENDING') {
    await new Promise((r) => setTimeout(r, 20));
    status = /<Status>(\w+)<\/Status>/.exec(
      await (await fetch(`${sim.url}/2013-04-01/change/${id}`)).text(),
    )![1];
  }
  expect(status).toBe('INSYNC');
  expect(sim.answer()).toEqual(['10.0.2.10']);
});

test('its DNS server answers like Route 53 name servers: PRIMARY while healthy, SECONDARY otherwise', async () => {
  const resolve = createResolver({ servers: [sim.dnsServer!] });
  expect(await resolve(sim.recordName, 'A')).toEqual(['10.0.1.10']);
  sim.setEndpointHealthy('primary', false);
  expect(await resolve(sim.recordName, 'A')).toEqual(['10.0.2.10']);
  await expect(resolve('nothing.example.test', 'A')).rejects.toMatchObject({ code: 'ENOTFOUND' });
});

test('health checks as Route 53 evaluates them: disabled counts healthy whatever the endpoint, inversion then flips it', () => {
  const id = sim.primaryHealthCheckId;
  const primary = ['10.0.1.10'];
  const secondary = ['10.0.2.10'];
  const cases: [
    flags: { inverted: boolean; disabled: boolean },
    endpointUp: boolean,
    answer: string[],
  ][] = [
    [{ inverted: false, disabled: false }, true, primary],
    [{ inverted: false, disabled: false }, false, secondary],
    [{ inverted: true, disabled: false }, true, secondary],
    // Inverted alone: a dead primary passes its check and gets the traffic back.
    [{ inverted: true, disabled: false }, false, primary],
    [{ inverted: false, disabled: true }, true, primary],
    [{ inverted: false, disabled: true }, false, primary],
    // Disabled and inverted: always unhealthy, whatever the endpoint does.
    [{ inverted: true, disabled: true }, true, secondary],
    [{ inverted: true, disabled: true }, false, secondary],
  ];
  for (const [flags, up, answer] of cases) {
    sim.setHealthCheckFlags(id, flags);
    sim.setEndpointHealthy('primary', up);
    expect({ flags, up, answer: sim.answer() }).toEqual({ flags, up, answer });
  }
});

test('UpdateHealthCheck sets Disabled and Inverted and bumps the version', async () => {
  const NSX = 'https://route53.amazonaws.com/doc/2013-04-01/';
  const res = await fetch(`${sim.url}/2013-04-01/healthcheck/${sim.primaryHealthCheckId}`, {
    method: 'POST',
    body: `<?xml version="1.0" encoding="UTF-8"?><UpdateHealthCheckRequest xmlns="${NSX}"><HealthCheckVersion>1</HealthCheckVersion><Inverted>true</Inverted><Disabled>true</Disabled></UpdateHealthCheckRequest>`,
  });
  const body = await res.text();
  expect(res.status).toBe(200);
  expect(body).toContain('<Inverted>true</Inverted>');
  expect(body).toContain('<Disabled>true</Disabled>');
  expect(body).toContain('<HealthCheckVersion>2</HealthCheckVersion>');
  sim.setEndpointHealthy('primary', false);
  expect(sim.answer()).toEqual(['10.0.2.10']);
});

test('until a change is INSYNC the name servers answer the records as they were; a stuck change holds back later ones', async () => {
  const post = (body: string) =>
    fetch(`${sim.url}/2013-04-01/hostedzone/${sim.zoneId}/rrset`, { method: 'POST', body });
  const status = async (id: string) =>
    /<Status>(\w+)<\/Status>/.exec(
      await (await fetch(`${sim.url}/2013-04-01/change/${id}`)).text(),
    )![1];
  const idOf = async (res: Response) => /<Id>\/change\/([^<]+)<\/Id>/.exec(await res.text())![1];
  sim.stickPending();
  const first = await idOf(
    await post(
      batch(
        upsert(sim.secondarySetIdentifier, 'PRIMARY', '10.0.2.10') +
          upsert(sim.primarySetIdentifier, 'SECONDARY', '10.0.1.10'),
      ),
    ),
  );
  const second = await idOf(
    await post(
      batch(
        upsert(sim.secondarySetIdentifier, 'PRIMARY', '10.0.2.10') +
          upsert(sim.primarySetIdentifier, 'SECONDARY', '10.0.1.10'),
      ),
    ),
  );
  // The API shows the new records at once; the name servers do not have them yet.
  expect(sim.records().find((r) => r.setIdentifier === sim.secondarySetIdentifier)?.failover).toBe(
    'PRIMARY',
  );
  expect(sim.answer()).toEqual(['10.0.1.10']);
  expect(await createResolver({ servers: [sim.dnsServer!] })(sim.recordName, 'A')).toEqual([
    '10.0.1.10',
  ]);
  await new Promise((r) => setTimeout(r, 80));
  expect([await status(first), await status(second)]).toEqual(['PENDING', 'PENDING']);
  sim.stickPending(false);
  expect([await status(first), await status(second)]).toEqual(['INSYNC', 'INSYNC']);
  expect(sim.answer()).toEqual(['10.0.2.10']);
});

test('routing control health checks (RECOVERY_CONTROL) follow the ARC cluster: the answer moves with the controls, not the endpoints', async () => {
  const arc = await startRoute53ArcSimulator();
  const r53 = await startRoute53Simulator({
    routingControls: {
      arns: { primary: arc.primaryControlArn, secondary: arc.secondaryControlArn },
      state: (arn) => arc.state(arn),
    },
  });
  const client = new Route53Client({
    region: 'us-east-1',
    endpoint: r53.url,
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator-secret' },
  });
  try {
    const hc = await client.send(
      new GetHealthCheckCommand({ HealthCheckId: r53.secondaryHealthCheckId }),
    );
    expect(hc.HealthCheck?.HealthCheckConfig).toMatchObject({
      Type: 'RECOVERY_CONTROL',
      RoutingControlArn: arc.secondaryControlArn,
    });
    expect(r53.answer()).toEqual(['10.0.1.10']);
    // A failing endpoint moves nothing: only the routing controls do.
    r53.setEndpointHealthy('primary', false);
    expect(r53.answer()).toEqual(['10.0.1.10']);
    arc.setState(arc.secondaryControlArn, 'On');
    arc.setState(arc.primaryControlArn, 'Off');
    expect(r53.answer()).toEqual(['10.0.2.10']);
  } finally {
    client.destroy();
    await Promise.all([r53.stop(), arc.stop()]);
  }
});
