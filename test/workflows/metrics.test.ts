/**
 * Worker metrics: a worker process started with FERRY_METRICS_PORT serves Prometheus text at /metrics with the
 * Temporal SDK runtime metrics and Ferry's own (objects/bytes copied, failures by class, throttling events,
 * transfers and batches in flight). Scraped while a throttled job runs, and again after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startJob, spawnWorkerProcess } from '../support/ferry';
import { freePort, tempDir, waitUntil, httpOk, type ManagedProcess } from '../support/process';
import { MetricsRegistry } from '../../activities/metrics';
import type { JobResult } from '../../common/progress';

const OBJECTS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `name{labels} value` lines → map (first sample of each series). */
function parse(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

test('MetricsRegistry renders counters and labelled series in Prometheus text format', () => {
  const r = new MetricsRegistry();
  r.declare('x_total', 'counter', 'X things');
  r.declare('y', 'gauge', 'Y now');
  r.add('x_total', 2, { class: 'Invalid"Key' });
  r.add('y', 3);
  r.add('y', -1);
  assert.equal(r.renderPrometheus(), '# HELP x_total X things\n# TYPE x_total counter\nx_total{class="Invalid\\"Key"} 2\n# HELP y Y now\n# TYPE y gauge\ny 2\n');
  assert.throws(() => r.add('nope', 1), /not declared/);
});

test('a worker serves SDK and Ferry metrics on FERRY_METRICS_PORT during and after a job', { timeout: 180_000 }, async () => {
  const [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
  const src = tempDir('metrics-src');
  const reports = tempDir('metrics-reports');
  let worker: ManagedProcess | undefined;
  try {
    let bytes = 0;
    for (let i = 0; i < OBJECTS; i++) {
      const body = `metrics object ${i} ${'z'.repeat(i % 500)}`;
      bytes += Buffer.byteLength(body);
      writeFileSync(join(src, `m-${String(i).padStart(4, '0')}.txt`), body);
    }
    // One key longer than S3's 1024-byte limit: a reported failure of class InvalidKeyError.
    const longKey = Array.from({ length: 5 }, (_, i) => `${i}${'k'.repeat(220)}`).join('/') + '/long.txt';
    mkdirSync(dirname(join(src, longKey)), { recursive: true });
    writeFileSync(join(src, longKey), 'too long a key');
    await minio.createBucket('metrics');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    worker = spawnWorkerProcess(temporal, { ...minio.credentialEnv('minio'), FERRY_REPORT_DIR: reports, FERRY_METRICS_PORT: String(port), FERRY_WORKER_IDENTITY: 'metrics-worker' }, 'metrics-worker');
    await waitUntil(worker, 'worker metrics endpoint', () => httpOk(url), 120_000);

    const client = await temporal.client();
    const h = await startJob(client, {
      name: 'metrics',
      source: { type: 'fs', path: src },
      destination: { type: 's3', endpoint: minio.endpoint, bucket: 'metrics', credentials: 'minio' },
      tasks: { maxObjects: 100 },
      concurrency: { tasks: 2, objects: 4 },
      throttle: { objectsPerSecond: 80 },
      verify: 'size',
      retries: 0,
    });
    // During the job: batches and transfers in flight, copies counting up, SDK worker metrics present.
    let during: Map<string, number> | undefined;
    let sdkSeen = false;
    for (let i = 0; i < 200; i++) {
      await sleep(100);
      const text = await (await fetch(url)).text();
      sdkSeen ||= /^temporal_\w+/m.test(text);
      const m = parse(text);
      if ((m.get('ferry_batches_in_flight') ?? 0) > 0 && (m.get('ferry_objects_copied_total') ?? 0) > 0) {
        during = m;
        break;
      }
    }
    assert.ok(during, 'saw a batch in flight and copies counted while the job ran');
    assert.ok(during.get('ferry_objects_copied_total')! < OBJECTS, 'scraped mid-job');

    const r = (await h.result()) as JobResult;
    assert.equal(r.objects.copied, OBJECTS, JSON.stringify(r));
    assert.equal(r.objects.failed, 1);
    const text = await (await fetch(url)).text();
    sdkSeen ||= /^temporal_\w+/m.test(text);
    assert.ok(sdkSeen, `SDK runtime metrics (temporal_*) are served too:\n${text.slice(0, 500)}`);
    assert.match(text, /^# TYPE ferry_objects_copied_total counter$/m);
    const after = parse(text);
    assert.equal(after.get('ferry_objects_copied_total'), OBJECTS);
    assert.equal(after.get('ferry_bytes_copied_total'), bytes);
    assert.equal(after.get('ferry_object_failures_total{class="InvalidKeyError"}'), 1, text.split('\n').filter((l) => l.startsWith('ferry_')).join('\n'));
    assert.equal(after.get('ferry_throttle_events_total'), 0);
    assert.equal(after.get('ferry_transfers_in_flight'), 0);
    assert.equal(after.get('ferry_batches_in_flight'), 0);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    await worker?.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(src, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  }
});
