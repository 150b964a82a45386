/**
 * The Kubernetes simulator's collections of apps/v1 workloads: list, and watch (`?watch=true`) as
 * the API server streams it. Rules from "Kubernetes API Concepts"
 * (kubernetes.io/docs/reference/using-api/api-concepts/):
 * - "Efficient detection of changes": a watch from a resourceVersion streams every change after
 *   it as newline-delimited JSON `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}`;
 *   a resourceVersion older than the kept history gets an ERROR event with a 410 Status, and the
 *   client must list again.
 * - "Semantics for watch": no resourceVersion ("get state and start at most recent") or "0"
 *   ("start at any") first sends a synthetic ADDED event for each object that exists.
 * - "Field selectors" (kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/):
 *   every resource supports metadata.name and metadata.namespace; other fields are refused with
 *   400 "field label not supported".
 * - The server ends a watch after `timeoutSeconds`; the client watches again from the last
 *   resourceVersion it saw.
 * The simulator keeps only each workload's latest state, so a watch from an older version gets
 * one MODIFIED event with the current object, the compaction the watch cache also does.
 */
import { json, type RecordedRequest, type SimResponse, type SimStream } from './http-sim.js';
import { workloadJson, type ClusterState, type SimWorkload } from './kubernetes-cluster.js';

const KIND: Record<string, SimWorkload['kind']> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
};

/** The real API server ends a watch after a random 30 to 60 minutes when none is asked. */
const DEFAULT_WATCH_SECONDS = 1800;

type Match = (w: SimWorkload) => boolean;

/** A failure as the API server's Status object (kubernetes-api.ts routes here, so not imported). */
function status(code: number, reason: string, message: string): SimResponse {
  return json(code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

function selector(
  ns: string,
  kind: SimWorkload['kind'],
  field: string | undefined,
): Match | string {
  const terms = (field ?? '').split(',').filter(Boolean);
  const wants: Match[] = [(w) => w.kind === kind && w.namespace === ns];
  for (const term of terms) {
    const m = /^([\w.]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) return `invalid field selector: ${term}`;
    const [, key, op, value] = m;
    const read: ((w: SimWorkload) => string) | undefined =
      key === 'metadata.name'
        ? (w) => w.name
        : key === 'metadata.namespace'
          ? (w) => w.namespace
          : undefined;
    if (!read) return `field label not supported: ${key}`;
    wants.push(op === '!=' ? (w) => read(w) !== value : (w) => read(w) === value);
  }
  return (w) => wants.every((want) => want(w));
}

export function workloadCollection(
  c: ClusterState,
  req: RecordedRequest,
  m: RegExpExecArray,
): SimResponse {
  const [, ns, resource] = m;
  if (req.method !== 'GET')
    return status(405, 'MethodNotAllowed', `${req.method} is not supported on ${resource}`);
  const match = selector(ns, KIND[resource], req.query.fieldSelector);
  if (typeof match === 'string') return status(400, 'BadRequest', match);
  if (req.query.labelSelector)
    return status(400, 'BadRequest', 'labelSelector is not supported by the simulator');
  const items = [...c.workloads.values()].filter(match);
  if (req.query.watch !== 'true' && req.query.watch !== '1')
    return json(200, {
      apiVersion: 'apps/v1',
      kind: `${KIND[resource]}List`,
      metadata: { resourceVersion: String(c.seq) },
      items: items.map((w) => workloadJson(c, w)),
    });
  const rv = req.query.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== '0' && !/^\d+$/.test(rv))
    return status(400, 'BadRequest', `invalid resource version: ${rv}`);
  const timeout = Number(req.query.timeoutSeconds ?? DEFAULT_WATCH_SECONDS);
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    stream: (out) => streamWatch(c, out, { match, items, rv, timeoutMs: timeout * 1000 }),
  };
}

function streamWatch(
  c: ClusterState,
  out: SimStream,
  w: { match: Match; items: SimWorkload[]; rv: string | undefined; timeoutMs: number },
): void {
  const send = (type: string, object: unknown): void =>
    out.write(`${JSON.stringify({ type, object })}\n`);
  const from = w.rv === undefined || w.rv === '' || w.rv === '0' ? undefined : Number(w.rv);
  if (from !== undefined && from < c.firstSeq) {
    send('ERROR', {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${from} (${c.firstSeq})`,
      reason: 'Expired',
      code: 410,
    });
    return out.end();
  }
  for (const item of w.items)
    if (from === undefined) send('ADDED', workloadJson(c, item));
    else if (item.resourceVersion > from) send('MODIFIED', workloadJson(c, item));
  const listener = (changed: SimWorkload): void => {
    if (w.match(changed)) send('MODIFIED', workloadJson(c, changed));
  };
  c.listeners.add(listener);
  const timer = setTimeout(() => out.end(), w.timeoutMs);
  c.timers.add(timer);
  out.onClose(() => {
    c.listeners.delete(listener);
    clearTimeout(timer);
    c.timers.delete(timer);
  });
}
