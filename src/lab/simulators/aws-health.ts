/**
 * AWS Health simulator: the awsJson1_1 API (POST / with X-Amz-Target: AWSHealth_20160804.<Op>)
 * for DescribeEvents, honouring the filter's regions and eventStatusCodes and paging with
 * nextToken as the real service does. Events are set by the test or the lab.
 */
import {
  startHttpSim,
  json,
  type HttpSim,
  type RecordedRequest,
  type SimResponse,
} from './http-sim.js';

const TARGET_PREFIX = 'AWSHealth_20160804.';

interface SimHealthEvent {
  arn: string;
  service: string;
  eventTypeCode: string;
  eventTypeCategory?: 'issue' | 'accountNotification' | 'scheduledChange' | 'investigation';
  region: string;
  statusCode: 'open' | 'closed' | 'upcoming';
  startTime: Date;
}

export interface AwsHealthSim {
  readonly url: string;
  readonly requests: RecordedRequest[];
  setEvents(events: SimHealthEvent[]): void;
  /** Next `times` requests get this AWS error (e.g. 500 InternalFailure, 403 AccessDeniedException). */
  failNext(status: number, type: string, message: string, times?: number): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

function awsError(status: number, type: string, message: string): SimResponse {
  return {
    status,
    body: JSON.stringify({ __type: type, message }),
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': `sim-${Date.now()}`,
    },
  };
}

interface DescribeEventsInput {
  filter?: { regions?: string[]; eventStatusCodes?: string[]; services?: string[] };
  maxResults?: number;
  nextToken?: string;
}

export async function startAwsHealthSimulator(
  opts: { port?: number; pageSize?: number } = {},
): Promise<AwsHealthSim> {
  let events: SimHealthEvent[] = [];
  const defaultPage = opts.pageSize ?? 10;

  function describeEvents(input: DescribeEventsInput): SimResponse {
    const f = input.filter ?? {};
    const matching = events.filter(
      (e) =>
        (!f.regions || f.regions.includes(e.region)) &&
        (!f.eventStatusCodes || f.eventStatusCodes.includes(e.statusCode)) &&
        (!f.services || f.services.includes(e.service)),
    );
    const start = input.nextToken ? Number(input.nextToken) : 0;
    if (!Number.isInteger(start) || start < 0)
      return awsError(400, 'InvalidPaginationToken', 'The pagination token is not valid.');
    const size = Math.min(input.maxResults ?? defaultPage, defaultPage);
    const page = matching.slice(start, start + size);
    const next = start + size < matching.length ? String(start + size) : undefined;
    return json(200, {
      events: page.map((e) => ({
        ...e,
        eventTypeCategory: e.eventTypeCategory ?? 'issue',
        startTime: e.startTime.getTime() / 1000,
        lastUpdatedTime: e.startTime.getTime() / 1000,
      })),
      ...(next ? { nextToken: next } : {}),
    });
  }

  const http: HttpSim = await startHttpSim(
    (req) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || req.path !== '/' || !target.startsWith(TARGET_PREFIX))
        return awsError(
          400,
          'UnknownOperationException',
          `unknown operation ${target || '(no X-Amz-Target)'}`,
        );
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256'))
        return awsError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      let input: DescribeEventsInput;
      try {
        input = JSON.parse(req.body || '{}') as DescribeEventsInput;
      } catch {
        return awsError(400, 'SerializationException', 'The request body is not valid JSON.');
      }
      const op = target.slice(TARGET_PREFIX.length);
      if (op === 'DescribeEvents') return describeEvents(input);
      return awsError(400, 'UnknownOperationException', `operation ${op} is not simulated`);
    },
    { port: opts.port },
  );

  return {
    url: http.url,
    requests: http.requests,
    setEvents(next) {
      events = [...next];
    },
    failNext(status, type, message, times = 1) {
      http.inject({ response: awsError(status, type, message), times });
    },
    clearFaults: () => http.clearFaults(),
    stop: () => http.close(),
  };
}
