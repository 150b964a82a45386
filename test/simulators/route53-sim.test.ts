import { createResolver } from '../../src/providers/dns-resolve.js';
import { startRoute53Simulator, type Route53Sim } from '../../src/lab/simulators/route53.js';

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
  const res = await fetch(`${sim.url}/2013-04-01/testdnsanswer?hostedzoneid=${sim.zoneId}&recordname=${sim.recordName}&recordtype=A`);
  const body = await res.text();
  expect(res.status).toBe(200);
  expect(body).toContain(`<TestDNSAnswerResponse xmlns="${NS}">`);
  expect(body).toContain('<RecordData><RecordDataEntry>10.0.1.10</RecordDataEntry></RecordData>');
  expect(body).toContain('<ResponseCode>NOERROR</ResponseCode>');
});

test('errors use the ErrorResponse envelope with the AWS code', async () => {
  const res = await fetch(`${sim.url}/2013-04-01/hostedzone/ZNOPE`);
  expect(res.status).toBe(404);
  expect(await res.text()).toMatch(/<ErrorResponse xmlns=".*"><Error><Type>Sender<\/Type><Code>NoSuchHostedZone<\/Code><Message>No hosted zone found with ID: ZNOPE<\/Message><\/Error>/);
});

test('a batch leaving two PRIMARY records is rejected whole; a valid one is PENDING, then INSYNC', async () => {
  const bad = await fetch(`${sim.url}/2013-04-01/hostedzone/${sim.zoneId}/rrset`, { method: 'POST', body: batch(upsert(sim.secondarySetIdentifier, 'PRIMARY', '10.0.2.10')) });
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('InvalidChangeBatch');
  expect(sim.records().find((r) => r.setIdentifier === sim.secondarySetIdentifier)?.failover).toBe('SECONDARY');

  const ok = await fetch(`${sim.url}/2013-04-01/hostedzone/${sim.zoneId}/rrset`, {
    method: 'POST',
    body: batch(upsert(sim.secondarySetIdentifier, 'PRIMARY', '10.0.2.10') + upsert(sim.primarySetIdentifier, 'SECONDARY', '10.0.1.10')),
  });
  const info = await ok.text();
  expect(info).toContain('<Status>PENDING</Status>');
  const id = /<Id>\/change\/([^<]+)<\/Id>/.exec(info)![1];
  let status = 'PENDING';
  while (status === 'PENDING') {
    await new Promise((r) => setTimeout(r, 20));
    status = /<Status>(\w+)<\/Status>/.exec(await (await fetch(`${sim.url}/2013-04-01/change/${id}`)).text())![1];
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
