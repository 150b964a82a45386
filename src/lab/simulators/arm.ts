/**
 * Azure Resource Manager's error envelope, shared by the ARM simulators (Traffic Manager,
 * Resource Health): `{ error: { code, message } }` with a request id, as the Azure SDKs parse it.
 */
import { json, type SimResponse } from './http-sim.js';

export function armError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): SimResponse {
  return json(
    status,
    { error: { code, message } },
    { 'x-ms-request-id': `sim-${Date.now()}`, ...headers },
  );
}
