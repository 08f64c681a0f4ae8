/**
 * TCP-level faults through toxiproxy between the worker and both S3 endpoints (source and destination are the
 * same MinIO behind two proxies, so bytes stream through the worker): connection resets, latency with jitter,
 * a bandwidth limit, a peer that stops answering mid-body and then drops the connection, connections cut after
 * a few KiB. Every phase has a time bound (a hang fails the test); each ends with every object compared.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startToxiproxy, type ToxiproxyServer, type ToxiProxy, type Toxic } from '../support/toxiproxy';
import { startWorker, startJob, type InProcessWorker } from '../support/ferry';
import { openS3Provider } from '../../storage/s3/s3';
import { FULL, MiB, resultWithin, assertIntact } from '../chaos/harness';

const SMALL = FULL ? 2000 : 300;
const LARGE = FULL ? 3 : 1;

describe('network faults (toxiproxy)', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let toxi: ToxiproxyServer;
  let srcProxy: ToxiProxy;
  let dstProxy: ToxiProxy;
  let worker: InProcessWorker;
  let client: Client;
  const injected: Record<string, number> = {};
  let compared = 0;

  before(async () => {
    [temporal, minio, toxi] = await Promise.all([startTemporal(), startMinio(), startToxiproxy()]);
    srcProxy = await toxi.createProxy('src', `127.0.0.1:${minio.port}`);
    dstProxy = await toxi.createProxy('dst', `127.0.0.1:${minio.port}`);
    client = await temporal.client();
    worker = await startWorker(temporal, { env: minio.credentialEnv('minio') });
    await minio.createBucket('src');
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < SMALL; i++) puts.push(minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: `small/${String(i).padStart(5, '0')}.bin`, Body: randomBytes(1024 + (i % 4096)) })));
    for (let i = 0; i < LARGE; i++) puts.push(minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: `large-${i}.bin`, Body: randomBytes(11 * MiB + i) })));
    await Promise.all(puts);
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([temporal?.stop(), minio?.stop(), toxi?.stop()]);
    console.log(`[chaos] network faults: toxics ${JSON.stringify(injected)}; ${compared} objects compared`);
  });

  async function phase(name: string, toxics: { proxy: ToxiProxy; toxic: Toxic }[], boundSec: number) {
    await minio.createBucket(name);
    for (const t of toxics) {
      await t.proxy.addToxic(t.toxic);
      injected[t.toxic.type] = (injected[t.toxic.type] ?? 0) + 1;
    }
    try {
      const h = await startJob(client, {
        name,
        source: { type: 's3', endpoint: srcProxy.endpoint, bucket: 'src', credentials: 'minio' },
        destination: { type: 's3', endpoint: dstProxy.endpoint, bucket: name, credentials: 'minio' },
        tasks: { maxObjects: 100 },
        concurrency: { tasks: 3, objects: 8 },
        multipart: { threshold: '8MiB', partSize: '5MiB' },
        verify: 'checksum',
      });
      const r = await resultWithin(h, boundSec * 1000);
      // Faults off before the proof, so the comparison itself is not disturbed.
      await toxi.reset();
      assert.equal(r.status, 'succeeded', JSON.stringify(r));
      const src = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'src', credentials: 'minio' }, { env: minio.credentialEnv('minio') });
      const dst = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: name, credentials: 'minio' }, { env: minio.credentialEnv('minio') });
      compared += await assertIntact(src, dst, SMALL + LARGE);
    } finally {
      await toxi.reset();
    }
  }

  it('connection resets (reset_peer on a share of connections, both directions)', async () => {
    await phase('resets', [
      { proxy: srcProxy, toxic: { type: 'reset_peer', toxicity: 0.3, attributes: { timeout: 200 } } },
      { proxy: dstProxy, toxic: { type: 'reset_peer', toxicity: 0.3, attributes: { timeout: 300 } } },
    ], 120);
  });

  it('latency with jitter and a bandwidth limit', async () => {
    await phase('slow', [
      { proxy: srcProxy, toxic: { type: 'latency', attributes: { latency: 40, jitter: 40 } } },
      { proxy: dstProxy, toxic: { type: 'latency', stream: 'upstream', attributes: { latency: 20, jitter: 20 } } },
      { proxy: srcProxy, toxic: { type: 'bandwidth', attributes: { rate: FULL ? 2048 : 8192 } } },
    ], 120);
  });

  it('a peer that stops answering mid-body, then drops the connection; connections cut after a few KiB', async () => {
    await phase('stalls', [
      // A third of source connections go silent (no bytes at all) and are closed after 3 s.
      { proxy: srcProxy, toxic: { type: 'timeout', toxicity: 0.3, attributes: { timeout: 3000 } } },
      // A share of destination connections is cut after 64 KiB of request bytes (mid-body for parts).
      { proxy: dstProxy, toxic: { type: 'limit_data', stream: 'upstream', toxicity: 0.2, attributes: { bytes: 64 * 1024 } } },
    ], 150);
  });

  // Full strength only: a peer that goes silent for good (toxiproxy `timeout: 0` never closes the connection),
  // so only Ferry's own timeouts can end those requests — the S3 provider's 120 s socket idle timeout
  // (storage/s3/s3.ts requestTimeout). Too slow for `npm test`.
  it('a peer that goes silent for good: the request timeout fires and the job finishes', { skip: !FULL && 'FERRY_CHAOS=1 only (waits for the 120 s request timeout)' }, async () => {
    await phase('silent', [{ proxy: srcProxy, toxic: { type: 'timeout', toxicity: 0.1, attributes: { timeout: 0 } } }], 420);
  });
});
