import { before, after } from 'node:test';
import { runConformance } from './conformance';
import { openS3Provider } from '../../activities/providers/s3';
import { startS3Server, type S3TestServer } from '../support/s3-servers';

for (const kind of ['minio', 'versitygw'] as const) {
  let server: S3TestServer;
  let n = 0;
  before(async () => {
    server = await startS3Server(kind);
  });
  after(async () => {
    await server?.stop();
  });
  const open = (bucket: string, secret = server.secretAccessKey) =>
    openS3Provider({ type: 's3', endpoint: server.endpoint, bucket, credentials: 'conf' }, { env: { FERRY_CREDENTIALS_CONF_ACCESS_KEY_ID: server.accessKeyId, FERRY_CREDENTIALS_CONF_SECRET_ACCESS_KEY: secret } });

  runConformance({
    name: `s3 → ${kind}`,
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
}
