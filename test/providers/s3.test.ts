import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { runConformance } from './conformance';
import { openS3Provider } from '../../storage/s3/s3';
import { startS3Server, type S3TestServer } from '../support/s3-servers';
import { REPO_ROOT } from '../support/ferry';

// Custom endpoints take the lean path (s3-http.ts) for every request; `sdkOnly` runs the suite through the SDK, the path AWS itself takes.
for (const [kind, sdkOnly] of [['minio', false], ['versitygw', false], ['minio', true]] as const) {
  let server: S3TestServer;
  let n = 0;
  before(async () => {
    server = await startS3Server(kind);
  });
  after(async () => {
    await server?.stop();
  });
  const open = (bucket: string, secret = server.secretAccessKey) =>
    openS3Provider({ type: 's3', endpoint: server.endpoint, bucket, credentials: 'conf' }, { env: { FERRY_CREDENTIALS_CONF_ACCESS_KEY_ID: server.accessKeyId, FERRY_CREDENTIALS_CONF_SECRET_ACCESS_KEY: secret } }, { sdkOnly });

  runConformance({
    name: `s3 → ${kind}${sdkOnly ? ' (SDK)' : ''}`,
    async withObjects(objects) {
      const bucket = `conf-${process.pid}-${++n}`;
      await server.createBucket(bucket);
      const p = open(bucket);
      for (const o of objects) await p.put(o.key, o.body, { size: o.body.length, contentType: o.contentType, metadata: o.metadata });
      return p;
    },
    wrongCredentials: {
      async open() {
        const bucket = `conf-${process.pid}-${++n}`;
        await server.createBucket(bucket);
        return open(bucket, 'not-the-secret');
      },
    },
    // Store rules beyond S3's own: MinIO refuses empty path segments, versitygw's posix backend refuses data on `dir/` keys.
    refusedKeys: kind === 'minio' ? { 'dir//double-slash.txt': 'unsupported characters' } : { 'trailing-slash/': 'Directory object contains data' },
    // versitygw 1.7.0 (posix) accepts `a//b` but stores and lists it as `a/b`.
    rewrittenKeys: kind === 'versitygw' ? { 'dir//double-slash.txt': 'dir/double-slash.txt' } : {},
    async missingBucket() {
      return open('no-such-bucket-ferry');
    },
  });

  // A second complete of the same upload, as after a complete whose answer was lost: MinIO answers NoSuchUpload (the
  // provider then finds the object it made), versitygw 1.7.0 completes it again.
  test(`s3 → ${kind}${sdkOnly ? ' (SDK)' : ''}: a CompleteMultipartUpload sent again resolves with the object's ETag`, async () => {
    const bucket = `conf-${process.pid}-${++n}`;
    await server.createBucket(bucket);
    const p = open(bucket);
    try {
      const id = await p.createMultipart!('mp');
      const parts = [];
      for (const [i, size] of [5 * 1024 * 1024, 1000].entries()) parts.push({ ...(await p.uploadPart!('mp', id, i + 1, Buffer.alloc(size, i), size)), size });
      const first = await p.completeMultipart!('mp', id, parts);
      assert.match(first.etag ?? '', /-2$/);
      assert.deepEqual(await p.completeMultipart!('mp', id, parts), first);
    } finally {
      await p.close?.();
    }
  });
}

// The point of the lean path for memory: a worker that moves data between S3-compatible stores with profile keys
// never loads the AWS SDK (~20 MiB resident). A fresh process does every operation a copy batch does and reports
// which SDK modules it loaded.
test('s3 on a custom endpoint with profile keys: list, stat, get, put, multipart, copy and delete without loading the AWS SDK', async () => {
  const server = await startS3Server('minio');
  try {
    await server.createBucket('no-sdk');
    const script = `
      const { openS3Provider } = require(${JSON.stringify(join(REPO_ROOT, 'storage', 's3', 's3.ts'))});
      (async () => {
        const p = openS3Provider({ type: 's3', endpoint: process.env.EP, bucket: 'no-sdk', credentials: 'k' }, { env: process.env });
        await p.put('a b', Buffer.from('hello'), { size: 5, metadata: { m: '1' } });
        const part = Buffer.alloc(5 * 1024 * 1024, 1);
        const id = await p.createMultipart('big');
        const parts = [await p.uploadPart('big', id, 1, part, part.length), await p.uploadPart('big', id, 2, Buffer.from('tail'), 4)];
        const stale = await p.createMultipart('stale');
        const uploads = await p.listMultipartUploads('');
        await p.abortMultipart('stale', stale);
        await p.completeMultipart('big', id, parts);
        await p.copyObject({ bucket: 'no-sdk', key: 'a b' }, 'copy');
        const listed = (await p.list({})).objects.map((o) => o.key + ':' + o.size);
        const info = await p.stat('a b');
        let body = '';
        for await (const c of (await p.get('copy')).body) body += c;
        await p.delete('copy');
        const after = (await p.list({})).objects.length;
        await p.close();
        const sdk = Object.keys(require.cache).filter((k) => /@aws-sdk|@smithy/.test(k)).length;
        console.log(JSON.stringify({ listed, meta: info.metadata, body, uploads: uploads.map((u) => u.key).sort(), after, sdk }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, env: { ...process.env, EP: server.endpoint, ...server.credentialEnv('k') } }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as { listed: string[]; meta: Record<string, string>; body: string; uploads: string[]; after: number; sdk: number };
    assert.deepEqual(r.listed, ['a b:5', 'big:5242884', 'copy:5']);
    assert.deepEqual(r.meta, { m: '1' });
    assert.equal(r.body, 'hello');
    assert.deepEqual(r.uploads, ['big', 'stale']);
    assert.equal(r.after, 2);
    assert.equal(r.sdk, 0, 'no @aws-sdk or @smithy module loaded');
  } finally {
    await server.stop();
  }
});
