/**
 * Lanes and parts (activities/copy.ts SharedParts): `concurrency.objects` bounds every transfer in flight, objects
 * and parts alike. A free lane takes parts of the oldest large object in progress before it starts another object,
 * so one large object gets every lane, and large objects are uploaded one after another. Measured at the destination
 * through the fault proxy, whose request log has each request's start and end; part uploads get 150 ms of latency
 * so that transfers overlap.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startFaultProxy, S3Match, type FaultProxy, type ForwardedRequest } from '../support/fault-proxy';
import { startWorker, startJob, assertSameTree, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import { MiB, resultWithin } from '../chaos/harness';

/** The most requests matching `match` that were in flight at once. */
function maxInFlight(log: readonly ForwardedRequest[], match: (r: ForwardedRequest) => boolean): number {
  const edges = log.filter(match).flatMap((r) => [
    { t: r.start, d: 1 },
    { t: r.end ?? Infinity, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d); // an end and a start at the same instant do not overlap
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}

const transfer = (r: ForwardedRequest) => S3Match.uploadPart(r) || S3Match.putObject(r);

describe('transfers in flight: lanes take parts of large objects', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let proxy: FaultProxy;
  let worker: InProcessWorker;
  let client: Client;
  const dirs: string[] = [];

  before(async () => {
    [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
    proxy = await startFaultProxy(minio.endpoint);
    proxy.add({ match: S3Match.uploadPart, times: Infinity, fault: { kind: 'latency', ms: 150 } });
    client = await temporal.client();
    worker = await startWorker(temporal, { env: minio.credentialEnv('minio') });
  });
  after(async () => {
    await worker?.stop();
    await proxy?.stop();
    await Promise.all([temporal?.stop(), minio?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Copies `files` (name → bytes) from a fresh directory to a fresh bucket through the proxy; returns the job's requests. */
  async function copy(name: string, files: Record<string, number>, objects: number): Promise<ForwardedRequest[]> {
    const src = tempDir(`lanes-${name}`);
    dirs.push(src);
    for (const [file, size] of Object.entries(files)) {
      mkdirSync(join(src, file, '..'), { recursive: true });
      writeFileSync(join(src, file), randomBytes(size));
    }
    await minio.createBucket(name);
    const destination = { type: 's3', endpoint: proxy.endpoint, bucket: name, credentials: 'minio' } as const;
    const from = proxy.log.length;
    const h = await startJob(client, {
      name,
      source: { type: 'fs', path: src },
      destination,
      concurrency: { tasks: 1, objects },
      multipart: { threshold: '8MiB', partSize: '5MiB' },
      verify: 'checksum',
    });
    const r = await resultWithin(h, 90_000);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    const env = minio.credentialEnv('minio');
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), openS3Provider(destination, { env })), Object.keys(files).length);
    return proxy.log.slice(from).filter((q) => q.path.startsWith(`/${name}/`));
  }

  it('one large object gets every lane: 5 parts with objects: 3 upload 3 at a time', async () => {
    const log = await copy('one-large', { 'big.bin': 25 * MiB }, 3);
    assert.equal(log.filter(S3Match.uploadPart).length, 5);
    assert.equal(maxInFlight(log, S3Match.uploadPart), 3);
  });

  it('objects: 2 bounds parts and small objects together, and large objects are uploaded in key order', async () => {
    const files: Record<string, number> = {};
    for (const k of ['a', 'b', 'c', 'd']) files[`large/${k}.bin`] = 15 * MiB; // 3 parts each
    for (let i = 0; i < 10; i++) files[`small/${i}.bin`] = 100 * 1024;
    const log = await copy('mixed', files, 2);
    assert.equal(log.filter(S3Match.uploadPart).length, 12);
    assert.equal(maxInFlight(log, transfer), 2, 'both lanes busy at some point, never more than two transfers');
    // A lane starts the next large object only when every part of the one before has started.
    const parts = (k: string) => log.filter((q) => S3Match.uploadPart(q) && q.path.endsWith(`/large/${k}.bin`)).map((q) => q.start);
    for (const [before, next] of [['a', 'b'], ['b', 'c'], ['c', 'd']] as const) {
      assert.ok(Math.max(...parts(before)) <= Math.min(...parts(next)), `every part of ${before}.bin started before the first of ${next}.bin`);
    }
  });
});
