/**
 * A tiny authoritative DNS server over UDP (A, AAAA, CNAME), so that "resolve the name after the
 * switch" runs through node:dns exactly as in production, only pointed at 127.0.0.1:<port>.
 * The answers come from a callback, i.e. from the simulator's current routing.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export type DnsRecordType = 'A' | 'AAAA' | 'CNAME';
/** What the name server answers for a name and type (null: NXDOMAIN). */
export type DnsAnswer = { type: DnsRecordType; values: string[]; ttl: number };
type DnsAnswerFn = (name: string, type: DnsRecordType) => DnsAnswer | null;

export interface DnsServer {
  readonly port: number;
  /** "127.0.0.1:<port>", the form node:dns Resolver.setServers takes. */
  readonly address: string;
  close(): Promise<void>;
}

const TYPE_CODES: Record<DnsRecordType, number> = { A: 1, CNAME: 5, AAAA: 28 };

function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let o = offset;
  while (o < buf.length) {
    const len = buf[o];
    if (len === 0) return { name: labels.join('.'), next: o + 1 };
    labels.push(buf.subarray(o + 1, o + 1 + len).toString('ascii'));
    o += 1 + len;
  }
  throw new Error('truncated name');
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])),
    Buffer.from([0]),
  ]);
}

function rdata(type: DnsRecordType, value: string): Buffer {
  if (type === 'A') return Buffer.from(value.split('.').map((x) => Number(x)));
  if (type === 'AAAA') {
    const full = expandIpv6(value);
    return Buffer.from(
      full.split(':').flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]),
    );
  }
  return encodeName(value);
}

function expandIpv6(ip: string): string {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = new Array(8 - h.length - t.length).fill('0');
  return [...h, ...(ip.includes('::') ? fill : []), ...t].join(':');
}

function buildResponse(query: Buffer, answer: DnsAnswerFn): Buffer {
  const id = query.readUInt16BE(0);
  const { name, next } = readName(query, 12);
  const qtype = query.readUInt16BE(next);
  const question = query.subarray(12, next + 4);
  const wanted = (Object.keys(TYPE_CODES) as DnsRecordType[]).find((t) => TYPE_CODES[t] === qtype);
  const found = wanted ? answer(name.toLowerCase(), wanted) : null;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR + AA + RD echoed; RCODE 3 (NXDOMAIN) when the name is unknown to us.
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | (found ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  const answers = (found?.values ?? []).map((v) => {
    const data = rdata(found!.type, v);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(TYPE_CODES[found!.type], 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(found!.ttl, 6);
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

export async function startDnsServer(
  answer: DnsAnswerFn,
  opts: { port?: number } = {},
): Promise<DnsServer> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    try {
      socket.send(buildResponse(msg, answer), rinfo.port, rinfo.address);
    } catch {
      // A malformed packet gets no answer, as from a real server.
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = socket.address().port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export function isIp(value: string): boolean {
  return net.isIP(value) !== 0;
}
