/**
 * Azure Blob object replication between two containers of the lab's Azurite, which has none:
 * block blobs of the source container are copied, with their metadata and content type, to the
 * destination asynchronously ("Object replication for block blobs", learn.microsoft.com
 * azure/storage/blobs/object-replication-overview: contents, metadata and properties are copied;
 * replication is asynchronous). A blob is copied again when its ETag changes.
 */
import { BlobServiceClient } from '@azure/storage-blob';

export interface BlobReplication {
  /**
   * Hold every copy back until resumed, as a policy whose destination account refuses writes
   * does: blobs stay in the source and are replicated once it is fixed (object-replication-overview,
   * "Replication status": a failed replication is retried).
   */
  stall(stalled?: boolean): void;
  stop(): Promise<void>;
}

export async function startBlobReplication(opts: {
  connectionString: string;
  from: string;
  to: string;
  intervalMs?: number;
}): Promise<BlobReplication> {
  const service = BlobServiceClient.fromConnectionString(opts.connectionString);
  const src = service.getContainerClient(opts.from);
  const dst = service.getContainerClient(opts.to);
  await src.createIfNotExists();
  await dst.createIfNotExists();
  const copied = new Map<string, string>();
  let stopped = false;
  let stalled = false;
  const copyChanged = async (): Promise<void> => {
    for await (const b of src.listBlobsFlat({ includeMetadata: true })) {
      const etag = b.properties.etag ?? '';
      if (copied.get(b.name) === etag) continue;
      const body = await src.getBlobClient(b.name).downloadToBuffer();
      await dst.getBlockBlobClient(b.name).upload(body, body.length, {
        metadata: b.metadata ?? {},
        ...(b.properties.contentType
          ? { blobHTTPHeaders: { blobContentType: b.properties.contentType } }
          : {}),
      });
      copied.set(b.name, etag);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      // A failed round (Azurite restarting) is retried on the next one, as replication retries.
      if (!stalled) await copyChanged().catch(() => undefined);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    }
  })();
  return {
    stall(on = true) {
      stalled = on;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
