/**
 * Every Blob call the canary makes (azure-blob.ts), with the data action it needs.
 * deploy/permissions/azure-custom-role.json must allow each one (test/permissions).
 */
export const AZURE_BLOB_CALLS: Readonly<Record<string, readonly string[]>> = {
  upload: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'],
  getProperties: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
};
