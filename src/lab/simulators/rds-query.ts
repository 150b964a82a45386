/**
 * The RDS query API's wire format, shared by the lab's RDS and Aurora simulators: form-encoded
 * `Action=…&Version=2014-10-31` requests signed with SigV4 (the region is the signature's scope),
 * `<ActionResponse><ActionResult>…` answers and `<ErrorResponse>` faults the SDK turns into its
 * named exceptions (code `X` becomes `XFault` where the SDK models it so).
 */
import { randomUUID } from 'node:crypto';
import type { RecordedRequest, SimResponse } from './http-sim.js';
import { escapeXml } from './xml.js';

const NS = 'http://rds.amazonaws.com/doc/2014-10-31/';

export class RdsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The region is the credential scope of the SigV4 signature: RDS is a regional service. */
function regionOf(req: RecordedRequest): string {
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/rds\//.exec(String(req.headers.authorization ?? ''));
  if (!m) throw new RdsFault('MissingAuthenticationToken', 'the request is not SigV4-signed', 403);
  return m[1];
}

/** One action: the caller's region and parameters in, the XML inside `<ActionResult>` out. */
type RdsAction = (region: string, p: URLSearchParams) => string;

/** A request handler serving `actions` in the query API's envelope, faults as `<ErrorResponse>`. */
export function rdsQueryHandler(
  actions: Readonly<Record<string, RdsAction>>,
): (req: RecordedRequest) => SimResponse {
  return (req) => {
    const requestId = randomUUID();
    try {
      const region = regionOf(req);
      const p = new URLSearchParams(req.body);
      const action = p.get('Action') ?? '';
      if (p.get('Version') !== '2014-10-31' || !Object.hasOwn(actions, action))
        throw new RdsFault(
          'InvalidAction',
          `unknown action ${action} (version ${p.get('Version')})`,
        );
      const body = actions[action](region, p);
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: `<${action}Response xmlns="${NS}"><${action}Result>${body}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
      };
    } catch (err) {
      const f = err instanceof RdsFault ? err : new RdsFault('InternalFailure', String(err), 500);
      return {
        status: f.status,
        headers: { 'content-type': 'text/xml' },
        body: `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${f.code}</Code><Message>${escapeXml(f.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    }
  };
}
