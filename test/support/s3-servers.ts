/**
 * Real S3 servers for tests and benchmarks: MinIO (primary) and versitygw (second implementation), each on a
 * free loopback port with a fresh data dir, started by pid and stopped by pid. Buckets are created through
 * the SDK (versitygw needs that for its owner/ACL xattrs).
 */
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import '../../storage/s3/aws-sdk-env';
import { S3Client, CreateBucketCommand, ListObjectsV2Command, DeleteObjectsCommand, ListMultipartUploadsCommand, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { freePort, httpOk, motoServerPath, spawnManaged, startOnFreshPorts, type Spawned, tempDir, toolPath, waitUntil, type ManagedProcess } from './process';

export interface S3TestServer {
  kind: 'minio' | 'versitygw' | 'moto';
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  process: ManagedProcess;
  /** An SDK client with root credentials (for fixtures and assertions, not for the code under test). */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Deletes every object and pending upload of a bucket (between benchmark runs). */
  emptyBucket(name: string): Promise<void>;
  /** Env vars that make credential profile `profile` resolve to this server's root keys. */
  credentialEnv(profile: string): Record<string, string>;
  stop(): Promise<void>;
}

function rootClient(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** `afterEmpty` runs after `emptyBucket` deleted everything (MinIO: purge the trash the deletes left). */
function wrap(kind: S3TestServer['kind'], port: number, accessKeyId: string, secretAccessKey: string, proc: ManagedProcess, afterEmpty?: () => void): S3TestServer {
  const endpoint = `http://127.0.0.1:${port}`;
  const client = rootClient(endpoint, accessKeyId, secretAccessKey);
  return {
    kind,
    endpoint,
    port,
    accessKeyId,
    secretAccessKey,
    process: proc,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async emptyBucket(name) {
      for (;;) {
        const out = await client.send(new ListObjectsV2Command({ Bucket: name, MaxKeys: 1000 }));
        const keys = (out.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (!keys.length) break;
        await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys, Quiet: true } }));
      }
      const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: name }));
      for (const u of ups.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: u.Key!, UploadId: u.UploadId! }));
      afterEmpty?.();
    },
    credentialEnv(profile) {
      const pre = `FERRY_CREDENTIALS_${profile.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
      return { [`${pre}ACCESS_KEY_ID`]: accessKeyId, [`${pre}SECRET_ACCESS_KEY`]: secretAccessKey };
    },
    async stop() {
      client.destroy();
      await proc.stop();
    },
  };
}

/** Starts MinIO (single drive) on a free port; resolves when `/minio/health/live` answers 200. */
export function startMinio(opts: { accessKeyId?: string; secretAccessKey?: string } = {}): Promise<S3TestServer> {
  return startOnFreshPorts((spawned) => startMinioOnce(opts, spawned));
}

async function startMinioOnce(opts: { accessKeyId?: string; secretAccessKey?: string }, spawned: Spawned): Promise<S3TestServer> {
  const accessKeyId = opts.accessKeyId ?? 'minioadmin';
  const secretAccessKey = opts.secretAccessKey ?? 'minioadmin-secret';
  const [port, consolePort] = [await freePort(), await freePort()];
  const data = tempDir('minio');
  const proc = spawned(
    spawnManaged({
      name: 'minio',
      command: toolPath('minio'),
      args: ['server', data, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
      env: { MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
      ownedDirs: [data],
    }),
  );
  await waitUntil(proc, 'minio', () => httpOk(`http://127.0.0.1:${port}/minio/health/live`));
  // MinIO moves deleted objects to .minio.sys/tmp/.trash and purges it later (every 5 min by default, and not at all
  // while it is busy): the benchmark's emptied buckets piled up 17 GB there on tmpfs, which is RAM, and the machine
  // ran out of memory. An emptied bucket's trash goes at once (MinIO's purge finds it gone).
  const trash = join(data, '.minio.sys', 'tmp', '.trash');
  const purgeTrash = () => {
    for (const entry of existsSync(trash) ? readdirSync(trash) : []) rmSync(join(trash, entry), { recursive: true, force: true });
  };
  return wrap('minio', port, accessKeyId, secretAccessKey, proc, purgeTrash);
}

/**
 * Starts versitygw (posix backend) on a fresh dir and a free port; resolves when `/health` answers 200. By default it runs as installed: it closes every connection
 * after one response and logs each request. `keepAlive` and `quiet` (the benchmark's setting) turn both off.
 */
export function startVersitygw(opts: VersitygwOptions = {}): Promise<S3TestServer> {
  return startOnFreshPorts((spawned) => startVersitygwOnce(opts, spawned));
}

interface VersitygwOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  keepAlive?: boolean;
  quiet?: boolean;
}

async function startVersitygwOnce(opts: VersitygwOptions, spawned: Spawned): Promise<S3TestServer> {
  const accessKeyId = opts.accessKeyId ?? 'vgwadmin';
  const secretAccessKey = opts.secretAccessKey ?? 'vgwsecret123';
  const port = await freePort();
  const base = tempDir('vgw');
  const [data, vers, sidecar] = ['data', 'versions', 'sidecar'].map((d) => join(base, d)) as [string, string, string];
  for (const d of [data, vers, sidecar]) mkdirSync(d, { recursive: true });
  const proc = spawned(
    spawnManaged({
      name: 'versitygw',
      command: toolPath('versitygw'),
      args: ['--port', `127.0.0.1:${port}`, '--health', '/health', ...(opts.keepAlive ? ['--keep-alive'] : []), ...(opts.quiet ? ['--quiet'] : []), 'posix', '--sidecar', sidecar, '--versioning-dir', vers, data],
      env: { ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
      ownedDirs: [base],
    }),
  );
  await waitUntil(proc, 'versitygw', () => httpOk(`http://127.0.0.1:${port}/health`));
  return wrap('versitygw', port, accessKeyId, secretAccessKey, proc);
}

/**
 * Starts moto's S3 server (AWS semantics for GLACIER/DEEP_ARCHIVE, RestoreObject and `x-amz-restore`, versions,
 * tagging and SSE headers) on a free port; resolves when it answers. It accepts any keys: the pair given here.
 */
export function startMoto(opts: { accessKeyId?: string; secretAccessKey?: string } = {}): Promise<S3TestServer> {
  return startOnFreshPorts(async (spawned) => {
    const accessKeyId = opts.accessKeyId ?? 'motoadmin';
    const secretAccessKey = opts.secretAccessKey ?? 'motoadmin-secret';
    const port = await freePort();
    const proc = spawned(spawnManaged({ name: 'moto', command: motoServerPath(), args: ['-H', '127.0.0.1', '-p', String(port)], env: {} }));
    await waitUntil(proc, 'moto', () => httpOk(`http://127.0.0.1:${port}/moto-api/`));
    return wrap('moto', port, accessKeyId, secretAccessKey, proc);
  });
}

/** Starts the named S3 server. */
export function startS3Server(kind: S3TestServer['kind']): Promise<S3TestServer> {
  return kind === 'minio' ? startMinio() : kind === 'moto' ? startMoto() : startVersitygw();
}
