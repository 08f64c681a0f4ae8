/**
 * The field case of issue 32 end to end: a copy job from an OSS-compatible store that ignores `start-after` (1,100
 * keys, more than one listing page) to fs copies every key exactly once and ends, instead of re-listing and
 * re-copying the first 1,000 keys for ever; one that ignores `marker` too ends at once with a failure naming the
 * store and the key the listing was stuck at.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startOssServer, type OssServer, type OssQuirks } from '../support/oss-server';
import { startJob, startWorker, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openOssProvider } from '../../storage/oss/oss';
import type { JobResult } from '../../common/progress';

const N = 1100;
const AK = 'quirk-ak';
const SK = 'quirk-sk';
const env = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };

let temporal: TemporalTestServer;
let oss: OssServer;
let worker: InProcessWorker;

before(async () => {
  [temporal, oss] = await Promise.all([startTemporal(), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
  worker = await startWorker(temporal, { env });
});

after(async () => {
  await worker?.stop();
  await Promise.all([temporal?.stop(), oss?.stop()]);
});

/** A bucket of `keys` (each its own name as body) and its job source spec. */
async function sourceBucket(bucket: string, keys: string[]) {
  oss.createBucket(bucket);
  const source = { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket, credentials: 'oss' } as const;
  const writer = openOssProvider(source, { env });
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await writer.put(key, Buffer.from(key));
    }
  }));
  await writer.close?.();
  return source;
}

/** The job's result or failure, or a failure of the test when it does not end within `ms` (today's looping). */
function ended<T>(result: Promise<T>, ms: number): Promise<{ result?: T; error?: unknown }> {
  const bound = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the job did not end within ${ms / 1000} s: the listing loops`)), ms).unref());
  return Promise.race([result.then((r) => ({ result: r }), (error: unknown) => ({ error })), bound]);
}

/** A failure's message with the messages of its causes (a workflow failure wraps the activity's). */
function messages(e: unknown): string {
  const out: string[] = [];
  for (let c = e as { message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) out.push(String(c.message));
  return out.join(' ← ');
}

test(`a job from a store that ignores start-after copies all ${N} keys exactly once and ends`, async () => {
  setQuirks({ ignoreStartAfter: true });
  const keys = Array.from({ length: N }, (_, i) => `d/${String(i).padStart(5, '0')}.txt`);
  const source = await sourceBucket('quirk-src', keys);
  const out = tempDir('listing-quirks-dst');
  const h = await startJob(await temporal.client(), { name: 'listing-quirks', source, destination: { type: 'fs', path: out } });
  const { result, error } = await ended(h.result() as Promise<JobResult>, 120_000);
  assert.ok(result, messages(error));
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  assert.equal(result.objects.copied, N, JSON.stringify(result.objects));
  assert.equal(result.objects.listed, N, JSON.stringify(result.objects));
  assert.deepEqual(readdirSync(join(out, 'd')).sort(), keys.map((k) => k.slice(2)));
  const gets = new Map<string, number>();
  for (const q of oss.requests) if (q.op === 'GetObject' && q.bucket === 'quirk-src') gets.set(q.key, (gets.get(q.key) ?? 0) + 1);
  assert.equal(gets.size, N, 'every key read');
  assert.deepEqual([...gets].filter(([, n]) => n !== 1), [], 'no key read twice');
});

test('a job from a store that ignores start-after and marker ends at once with a failure naming the store and key', async () => {
  setQuirks({ ignoreStartAfter: true, ignoreMarker: true });
  const source = await sourceBucket('quirk-deaf', Array.from({ length: N }, (_, i) => `e/${String(i).padStart(5, '0')}`));
  const h = await startJob(await temporal.client(), { name: 'listing-quirks-deaf', source, destination: { type: 'fs', path: tempDir('listing-quirks-deaf') } });
  const { result, error } = await ended(h.result() as Promise<JobResult>, 60_000);
  const text = result ? `${result.status}: ${result.error}` : messages(error);
  assert.ok(!result || result.status !== 'succeeded', text);
  assert.match(text, /ignored the ListObjectsV2 start-after and the ListObjects V1 marker: asked for keys after "e\/\d{5}"/);
  assert.ok(text.includes(oss.endpoint) && text.includes('bucket quirk-deaf'), text);
});

function setQuirks(q: OssQuirks): void {
  for (const k of Object.keys(oss.quirks)) delete (oss.quirks as Record<string, unknown>)[k];
  Object.assign(oss.quirks, q);
}
