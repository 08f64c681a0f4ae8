/** Bench fixtures: objects of patterned random bytes written to an S3 bucket or a directory, and object counts. */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3TestServer } from '../test/support/s3-servers';

const MiB = 1024 * 1024;

function pattern(i: number, size: number): Buffer {
  const b = randomBytes(Math.min(size, MiB));
  b.writeUInt32BE(i, 0);
  return b;
}

/** A stream of `size` bytes: one random MiB (tagged with `i`) repeated. */
function bodyOf(i: number, size: number): Readable {
  const block = pattern(i, size);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

export async function fillBucket(s: S3TestServer, bucket: string, prefix: string, count: number, size: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      await s.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${String(i).padStart(6, '0')}`, Body: bodyOf(i, size), ContentLength: size }));
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

export async function fillDir(dir: string, prefix: string, count: number, size: number): Promise<void> {
  mkdirSync(join(dir, prefix), { recursive: true });
  for (let i = 0; i < count; i++) await pipeline(bodyOf(i, size), createWriteStream(join(dir, prefix, String(i).padStart(6, '0'))));
}

export async function countObjects(s: S3TestServer, bucket: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await s.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    n += page.KeyCount ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return n;
}
