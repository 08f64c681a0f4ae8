/**
 * The raw limit: a minimal `@aws-sdk/client-s3` GET→PUT loop at the same concurrency as Ferry — no Temporal, no
 * overwrite policy, no verification, no retries beyond the SDK's. Objects at or above `multipart.threshold` go up
 * as `@aws-sdk/lib-storage` multipart uploads of Ferry's part size, one part at a time per object (the limit of a
 * resumable copy); without `multipart`, every object is one PUT. Runs as its own process (so its peak RSS is its
 * own); input as JSON in BENCH_RAW, prints one JSON line `{ seconds, objects, bytes, peakRssMiB, cpuSeconds }`.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from 'node:http';
import '../storage/s3/aws-sdk-env';
import { Upload } from '@aws-sdk/lib-storage';
import { S3Client, GetObjectCommand, PutObjectCommand, CopyObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Readable } from 'node:stream';

export interface S3Side {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RawInput {
  source: ({ kind: 's3' } & S3Side) | { kind: 'fs'; dir: string };
  destination: S3Side;
  /** `copy` = GET→PUT (or read→PUT for fs); `server-side` = CopyObject on the same endpoint. */
  mode: 'copy' | 'server-side';
  concurrency: number;
  /** Multipart uploads for objects of `threshold` bytes or more, in parts of `partSize`; absent = single PUTs. */
  multipart?: { threshold: number; partSize: number };
}

function client(s: S3Side): S3Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  return new S3Client({
    endpoint: s.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
}

async function listS3(c: S3Client, bucket: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await c.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function listDir(root: string, rel = ''): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for (const d of await readdir(join(root, rel), { withFileTypes: true })) {
    const k = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await listDir(root, k)));
    else out.push({ key: k, size: (await stat(join(root, k))).size });
  }
  return out;
}

/** Runs the loop; returns seconds, objects and bytes. */
export async function runRaw(input: RawInput): Promise<{ seconds: number; objects: number; bytes: number }> {
  const dst = client(input.destination);
  const srcS3 = input.source.kind === 's3' ? client(input.source) : undefined;
  const started = performance.now();
  const keys = input.source.kind === 's3' ? await listS3(srcS3!, input.source.bucket) : await listDir(input.source.dir);
  let next = 0;
  let bytes = 0;
  const lane = async () => {
    while (next < keys.length) {
      const o = keys[next++]!;
      if (input.mode === 'server-side' && input.source.kind === 's3') {
        await dst.send(new CopyObjectCommand({ Bucket: input.destination.bucket, Key: o.key, CopySource: `${input.source.bucket}/${o.key.split('/').map(encodeURIComponent).join('/')}` }));
      } else {
        const body: Readable =
          input.source.kind === 's3' ? ((await srcS3!.send(new GetObjectCommand({ Bucket: input.source.bucket, Key: o.key }))).Body as Readable) : createReadStream(join(input.source.dir, o.key));
        const params = { Bucket: input.destination.bucket, Key: o.key, Body: body };
        if (input.multipart && o.size >= input.multipart.threshold) await new Upload({ client: dst, params, partSize: input.multipart.partSize, queueSize: 1 }).done();
        else await dst.send(new PutObjectCommand({ ...params, ContentLength: o.size }));
      }
      bytes += o.size;
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, keys.length) }, lane));
  return { seconds: (performance.now() - started) / 1000, objects: keys.length, bytes };
}

if (require.main === module) {
  runRaw(JSON.parse(process.env.BENCH_RAW ?? '{}') as RawInput)
    .then((r) => {
      const u = process.resourceUsage();
      console.log(JSON.stringify({ ...r, peakRssMiB: u.maxRSS / 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }));
      process.exit(0);
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : String(e));
      process.exit(1);
    });
}
