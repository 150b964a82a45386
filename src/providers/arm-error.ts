/**
 * An Azure Resource Manager call's failure as the bot says it, shared by the drivers that call ARM
 * with an SDK's long-running operations (azure-flexible, azure-cache): the credential's own
 * explanation, a timeout that may still be running in Azure, not found (a config to check), access
 * denied (the custom role to grant), refused (400/409), and the rest retryable when Azure's side.
 */
import { DrError, PreconditionFailed, ProviderError } from '../errors.js';
import { describeAzureCredentialError, isAzureCredentialError } from './azure-credential.js';

/** What a driver's messages name. */
export interface ArmErrorWords {
  /** The provider name errors carry: 'azure-cache'. */
  driver: string;
  /** How people call the service: 'Azure Cache'. */
  service: string;
  /** The portal page to look at after a timeout: "the cache's Geo-replication page". */
  page: string;
  /** The config keys that name the resources: 'subscriptionId, resourceGroup and name in components.redis.azureCache'. */
  configKeys: string;
  /** The resources the custom role must cover: 'both caches'. */
  resources: string;
}

export function armError(
  words: ArmErrorWords,
  doing: string,
  err: unknown,
  timeoutSeconds: number,
): DrError {
  if (err instanceof DrError) return err;
  if (isAzureCredentialError(err))
    return new ProviderError(words.driver, `${doing}: ${describeAzureCredentialError(err).line}`, {
      code: 'forbidden',
      retryable: false,
      cause: err,
    });
  const e = err as { name?: string; statusCode?: number; code?: string; message?: string };
  const said = e.message ? ` (Azure said: ${e.message})` : '';
  if (e.name === 'AbortError')
    return new ProviderError(
      words.driver,
      `${doing}: the operation did not finish within ${timeoutSeconds} s; it may still be running in Azure: check ${words.page} before retrying`,
      { code: 'timeout', retryable: true, cause: err },
    );
  if (e.statusCode === 404)
    return new PreconditionFailed(
      `${words.service}: ${doing} failed, ${e.code ?? 'NotFound'}${said}. Check ${words.configKeys}.`,
      { code: 'not-found', cause: err },
    );
  if (e.statusCode === 401 || e.statusCode === 403)
    return new ProviderError(
      words.driver,
      `access denied while ${doing}${said}. Give the bot's identity the dr-bot custom role (deploy/permissions/azure-custom-role.json) on ${words.resources}.`,
      { code: 'forbidden', retryable: false, cause: err },
    );
  if (e.statusCode === 400 || e.statusCode === 409)
    return new PreconditionFailed(`${words.service}: ${doing} refused, ${e.code ?? ''}${said}`, {
      code: 'precondition-failed',
      cause: err,
    });
  return new ProviderError(
    words.driver,
    `${doing} failed: ${e.statusCode ? `HTTP ${e.statusCode} ` : ''}${e.code ?? ''}${said}`,
    {
      retryable: e.statusCode === undefined || e.statusCode >= 500 || e.statusCode === 429,
      cause: err,
    },
  );
}
