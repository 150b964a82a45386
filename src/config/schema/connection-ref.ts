/**
 * How the config names a connection string: a password-less `url` written in the file, or
 * `urlEnv`, the environment variable that holds it. Owns the checks of a written `url`.
 */
import { z } from 'zod';
import {
  ENCODING_HINT,
  ONE_HOST,
  parseConnectionUrl,
  schemesText,
  userInfoHoldsPassword,
  type ConnectionKind,
} from '../connection-url.js';
import { envName } from './fields.js';

const PASSWORD_IN_URL =
  'this url contains a password: put it in an environment variable and use `urlEnv`';
/** A connection string written in the file, as it may be written there: no password anywhere. */
const FILE_FORM: Record<ConnectionKind, string> = {
  postgres: 'postgres://user@host[:port]/db',
  redis: 'redis://host[:port][/db]',
};

export const connectionRefShape = z
  .object({
    url: z.string().min(1).optional(),
    urlEnv: envName.optional(),
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.urlEnv === undefined), {
    message: 'give exactly one of `url` or `urlEnv`',
  });

/**
 * The same for a PostgreSQL or Redis side: a `url` written in the file must also be a connection
 * URL of that kind, and carry no password in its query (`?password=` works for both drivers).
 */
export function connectionRefOf(kind: ConnectionKind) {
  return connectionRefShape.superRefine((c, ctx) => {
    if (c.url === undefined) return;
    if (userInfoHoldsPassword(c.url)) {
      ctx.addIssue({ code: 'custom', message: PASSWORD_IN_URL });
      return;
    }
    const parsed = parseConnectionUrl(c.url, kind);
    if (!parsed.ok) {
      const p = parsed.problem;
      const message =
        p.code === 'wrong-scheme'
          ? `a ${p.scheme}:// URL; expected ${schemesText(kind)}`
          : p.code === 'needs-encoding'
            ? `the user name has characters that must be percent-encoded (${ENCODING_HINT})`
            : p.code === 'several-hosts'
              ? `lists several hosts; ${ONE_HOST}`
              : `not a connection URL; expected ${FILE_FORM[kind]}`;
      ctx.addIssue({ code: 'custom', path: ['url'], message });
    } else if (parsed.server.passwordParam) {
      ctx.addIssue({
        code: 'custom',
        message:
          'this url carries a password in its query; put the whole connection string in an environment variable and name it with `urlEnv`',
      });
    }
  });
}
