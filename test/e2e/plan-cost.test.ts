/**
 * `ferry plan`'s cost estimate as users run it (`bin/ferry plan … --prices FILE`, built to dist/) against MinIO: the
 * requests, traffic and amounts in `--json` and in the text, a server-side copy on one endpoint, the built-in tables'
 * dates, and a bad price file (exit 2, every problem named). No Temporal: plan runs from this machine.
 *
 * FERRY_E2E_SKIP_BUILD=1 reuses an existing dist/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify as toYaml } from 'yaml';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { tempDir } from '../support/process';
import { REPO_ROOT } from '../support/ferry';
import type { PlanResult } from '../../client/commands/plan';

const CLI = join(REPO_ROOT, 'dist', 'client', 'cli.js');
const BIN = join(REPO_ROOT, 'bin', 'ferry');
const MiB = 1024 * 1024;

describe('ferry plan: cost', () => {
  let minio: S3TestServer;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    if (process.env.FERRY_E2E_SKIP_BUILD !== '1' || !existsSync(CLI)) {
      const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.ok(existsSync(CLI), `build did not produce ${CLI}:\n${build.stdout}${build.stderr}`);
    }
    work = tempDir('plan-cost');
    mkdirSync(join(work, 'out'));
    minio = await startMinio();
    for (const b of ['src', 'dst']) await minio.createBucket(b);
    // 3 small objects and one of 12 MiB: multipart with a 5 MiB threshold and part size (3 parts).
    for (const [key, size] of [['a.txt', 100], ['b/c.txt', 2000], ['d.bin', 50], ['big.bin', 12 * MiB]] as const) {
      await minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: key, Body: Buffer.alloc(size, 7) }));
    }
    env = { PATH: process.env.PATH, HOME: work, FERRY_HOME: join(work, 'home'), ...minio.credentialEnv('minio') };
    writeFileSync(join(work, 'prices.yaml'), toYaml({ minio: { label: 'our MinIO', currency: 'EUR', asOf: '2026-12-01', source: 'the storage team', requests: { list: 1, get: 0.5, put: 2, copy: 3, multipart: 4, head: 0.25 }, egressPerGB: 10 } }));
  });
  after(async () => {
    await minio?.stop();
  });

  const job = (name: string, destination: Record<string, unknown>) => {
    const file = join(work, `${name}.yaml`);
    const side = (bucket: string) => ({ type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio', provider: 'minio' });
    writeFileSync(file, toYaml({ name, source: side('src'), destination: destination.type ? destination : side(String(destination.bucket)), multipart: { threshold: '5MiB', partSize: '5MiB' } }));
    return file;
  };
  const ferry = (...args: string[]) => spawnSync(BIN, args, { env, encoding: 'utf8', timeout: 60_000 });

  it('prices a copy to a local directory: LISTs, GETs, multipart parts and the bytes out of MinIO, in --json and text', () => {
    const file = job('to-fs', { type: 'fs', path: join(work, 'out') });
    const res = ferry('plan', file, '--json', '--sample-seconds', '0', '--prices', join(work, 'prices.yaml'));
    assert.equal(res.status, 0, res.stderr);
    const plan = JSON.parse(res.stdout) as PlanResult;
    const cost = plan.cost!.list;
    assert.deepEqual(cost.sides.source, { store: 'minio', label: 'our MinIO', currency: 'EUR', asOf: '2026-12-01', source: 'the storage team' });
    assert.equal(cost.sides.destination.store, 'local');
    const src = Object.fromEntries(cost.lines.filter((l) => l.side === 'source').map((l) => [l.item, [l.quantity, l.amount]]));
    // 1 LIST; 3 single GETs + 1 HEAD and 3 ranged GETs of the multipart object; every byte read once.
    const bytes = 100 + 2000 + 50 + 12 * MiB;
    assert.deepEqual(src, { list: [1, 0.001], head: [1, 0.00025], get: [6, 0.003], egress: [bytes, Math.round(((bytes / 1024 ** 3) * 10) * 1e6) / 1e6] });
    assert.equal(cost.totals.EUR, Math.round((0.001 + 0.00025 + 0.003 + (bytes / 1024 ** 3) * 10) * 1e6) / 1e6);
    const text = ferry('plan', file, '--sample-seconds', '0', '--prices', join(work, 'prices.yaml'));
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /cost +EUR 0\.12 /);
    assert.match(text.stdout, /source +our MinIO: EUR, list prices of 2026-12-01 \(the storage team\)/);
    assert.match(text.stdout, /source +GET +6 requests +EUR <0\.01 +at 0\.5\/1k/);
    assert.match(text.stdout, /source +egress +12\.0 MiB +EUR 0\.12 +at 10\/GB/);
    assert.match(text.stdout, /destination +local filesystem: not priced/);
  });

  it('one endpoint copies server-side: COPY and upload-part-copy, no bytes out', () => {
    const res = ferry('plan', job('same-endpoint', { bucket: 'dst' }), '--json', '--sample-seconds', '0', '--prices', join(work, 'prices.yaml'));
    assert.equal(res.status, 0, res.stderr);
    const cost = (JSON.parse(res.stdout) as PlanResult).cost!.list;
    const dst = Object.fromEntries(cost.lines.filter((l) => l.side === 'destination').map((l) => [l.item, l.quantity]));
    // LIST to compare + ListMultipartUploads + 1 size check; 3 COPYs; the large one: initiate, 3 part copies, complete, a metadata HEAD.
    assert.deepEqual(dst, { list: 3, head: 1, initiate: 1, complete: 1, copy: 3, partCopy: 3 });
    assert.equal(cost.usage.source.egressBytes, 0);
    assert.equal(cost.lines.some((l) => l.item === 'egress'), false);
  });

  it('without --prices a store with no built-in table costs 0 and says so', () => {
    const res = ferry('plan', job('unpriced', { bucket: 'dst' }), '--sample-seconds', '0');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /cost +0 \(no side has prices\)/);
    assert.match(res.stdout, /cost note +source: no prices for minio: priced at 0; give them with --prices FILE/);
  });

  it('a bad price file: exit 2 naming every problem', () => {
    writeFileSync(join(work, 'bad.yaml'), 'aws:\n  requests: { get: -1 }\n  asOf: yesterday\nminio: {}\n');
    const res = ferry('plan', job('bad-prices', { bucket: 'dst' }), '--prices', join(work, 'bad.yaml'));
    assert.equal(res.status, 2);
    assert.match(res.stderr, /invalid price file .*bad\.yaml:/);
    assert.match(res.stderr, /aws\.requests\.get: must not be negative/);
    assert.match(res.stderr, /aws\.asOf: "yesterday" is not a date/);
    assert.match(res.stderr, /minio\.currency: required \(minio has no built-in prices\)/);
    const syntax = ferry('plan', job('bad-syntax', { bucket: 'dst' }), '--prices', join(work, 'prices.yaml.missing'));
    assert.equal(syntax.status, 2);
    assert.match(syntax.stderr, /cannot read price file/);
  });
});
