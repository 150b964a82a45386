/**
 * AWS credential and region failures in one line a person can act on, for every AWS provider:
 * no credentials in the SDK's chain, an expired session token, a rejected key, a wrong or missing
 * region. Undefined for any other error (the provider's own mapping applies).
 */

interface AwsFailure {
  name?: string;
  message?: string;
}

/** Error codes of a key AWS does not know or a signature it refuses (IAM, STS, S3). */
const REJECTED_KEY = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
]);

export function describeAwsCredentialError(err: unknown): string | undefined {
  const e = (err ?? {}) as AwsFailure;
  const name = e.name ?? '';
  const message = e.message ?? '';
  if (name === 'CredentialsProviderError')
    return 'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) or an instance role';
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'RequestExpired')
    return `the AWS session token has expired (${name}): refresh the credentials (a new AWS_SESSION_TOKEN, aws sso login) or use a role the SDK renews itself`;
  if (REJECTED_KEY.has(name))
    return `AWS refused the access key (${name}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_SESSION_TOKEN for temporary keys`;
  // S3 names the bucket's region when a request is signed for another one.
  const wrong = /region '([\w-]+)' is wrong; expecting '([\w-]+)'/.exec(message);
  if (wrong)
    return `wrong AWS region: the request was signed for ${wrong[1]} but the resource is in ${wrong[2]}; set that region in the config (or AWS_REGION)`;
  if (name === 'PermanentRedirect')
    return 'wrong AWS region: the bucket is in another region than the one configured; set its region in components.objectStorage';
  if (/^Region is missing/.test(message))
    return 'no AWS region: set AWS_REGION or the region in the config';
  return undefined;
}
