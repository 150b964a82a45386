import { ConfigError } from '../errors.js';
import type { ConnectionKind } from './connection-url.js';
import type { ConnectionRef } from './schema.js';

/**
 * The connection string behind a ref: its `url`, or the value of the env var named by `urlEnv`.
 * `key` is the config path of the ref, so the message says which setting needs the variable.
 */
export function resolveConnection(
  ref: ConnectionRef,
  env: NodeJS.ProcessEnv,
  key = 'connection',
): string {
  if (ref.url !== undefined) return ref.url;
  const name = ref.urlEnv;
  if (name === undefined)
    throw new ConfigError(`${key}: give exactly one of \`url\` or \`urlEnv\``);
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    const example = key.includes('redis')
      ? 'redis://:password@host:6379'
      : 'postgres://user:password@host:5432/db';
    throw new ConfigError(
      `${key}.urlEnv: environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}; set it to the connection string (e.g. ${example})`,
    );
  }
  return value.trim();
}

/** Every connection ref in the config, with its key path: start-up resolves them all at once. */
export function connectionRefs(config: {
  components: {
    postgres?: { primary: ConnectionRef; secondary: ConnectionRef };
    redis?: { primary: ConnectionRef; secondary: ConnectionRef };
  };
}): { key: string; ref: ConnectionRef; kind: ConnectionKind }[] {
  const refs: { key: string; ref: ConnectionRef; kind: ConnectionKind }[] = [];
  for (const component of ['postgres', 'redis'] as const) {
    const c = config.components[component];
    if (!c) continue;
    refs.push({ key: `components.${component}.primary`, ref: c.primary, kind: component });
    refs.push({ key: `components.${component}.secondary`, ref: c.secondary, kind: component });
  }
  return refs;
}
