/**
 * Synthetic providers for scale tests and the planning benchmark: a source of N generated keys (no storage)
 * and a sink that accepts writes and remembers only key → size. Both implement ObjectProvider fully.
 */
import { Readable } from 'node:stream';
import type { Capabilities, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutResult } from '../../storage/provider';
import { NotFoundError } from '../../common/errors';
import { compareKeys } from '../../common/keys';
import { openProvider } from '../../storage/registry';
import type { EndpointConfig } from '../../common/job';
import { startWorker, type InProcessWorker } from './ferry';
import type { TemporalTestServer } from './temporal';

const caps = (writable: boolean): Capabilities => ({
  checksums: [],
  etagIsMd5: false,
  maxSinglePut: Number.MAX_SAFE_INTEGER,
  multipart: null,
  serverSideCopy: false,
  maxServerSideCopy: 0,
  uploadPartCopy: false,
  writable,
  trailingSlashKeys: true,
  emptyPathSegments: true,
  metadata: false,
  order: 'key',
});

/** `count` keys `k/0000000000` … with `size` bytes each, all modified at `mtime`. */
export function syntheticSource(count: number, size: number, mtime = Date.UTC(2025, 0, 1)): ObjectProvider {
  const width = 10;
  const keyOf = (i: number) => `k/${String(i).padStart(width, '0')}`;
  const indexOf = (key: string) => (/^k\/\d{10}$/.test(key) ? Number(key.slice(2)) : -1);
  const info = (i: number): ObjectInfo => ({ key: keyOf(i), size, lastModified: mtime, position: keyOf(i) });
  return {
    type: 'synthetic',
    endpointId: 'synthetic-src',
    bucket: 'synthetic',
    capabilities: caps(false),
    async list(opts: ListOptions = {}): Promise<ListPage> {
      let i = 0;
      if (opts.startAfter) {
        const j = indexOf(opts.startAfter);
        i = j >= 0 ? j + 1 : opts.startAfter < 'k/' ? 0 : count;
      }
      if (opts.prefix && !'k/'.startsWith(opts.prefix) && !opts.prefix.startsWith('k/')) return { objects: [] };
      const limit = Math.min(opts.limit ?? 1000, 1000);
      const objects: ObjectInfo[] = [];
      for (; i < count && objects.length < limit; i++) objects.push(info(i));
      return i < count ? { objects, next: objects[objects.length - 1]?.position } : { objects };
    },
    async stat(key) {
      const i = indexOf(key);
      if (i < 0 || i >= count) throw new NotFoundError(`no ${key}`);
      return info(i);
    },
    async get(key, opts = {}): Promise<GetResult> {
      const i = indexOf(key);
      if (i < 0 || i >= count) throw new NotFoundError(`no ${key}`);
      const start = opts.range?.start ?? 0;
      const end = Math.min(opts.range?.end ?? size - 1, size - 1);
      const n = Math.max(0, end - start + 1);
      const bytes = Buffer.alloc(n, i % 251);
      const body = new Readable({
        read() {
          this.push(bytes);
          this.push(null);
        },
      });
      return { body, contentLength: n, info: info(i) };
    },
    async put() {
      throw new Error('read-only');
    },
    validateKey() {},
  };
}

/** A sink remembering key → size of every completed put. */
export function syntheticSink(): ObjectProvider & { stored: Map<string, number> } {
  const stored = new Map<string, number>();
  let sorted: string[] | undefined;
  return {
    type: 'synthetic',
    endpointId: 'synthetic-sink',
    bucket: 'sink',
    capabilities: caps(true),
    stored,
    async list(opts: ListOptions = {}): Promise<ListPage> {
      sorted ??= [...stored.keys()].sort(compareKeys);
      const limit = Math.min(opts.limit ?? 1000, 1000);
      const matching = sorted.filter((k) => (!opts.prefix || k.startsWith(opts.prefix)) && (!opts.startAfter || compareKeys(k, opts.startAfter) > 0));
      const keys = matching.slice(0, limit);
      const objects = keys.map((key) => ({ key, size: stored.get(key)!, lastModified: Date.now(), position: key }));
      return matching.length > limit ? { objects, next: keys[keys.length - 1] } : { objects };
    },
    async stat(key) {
      if (!stored.has(key)) throw new NotFoundError(`no ${key}`);
      return { key, size: stored.get(key)!, lastModified: Date.now(), position: key };
    },
    async get() {
      throw new Error('not readable');
    },
    async put(key, body): Promise<PutResult> {
      let n = 0;
      if (Buffer.isBuffer(body)) n = body.length;
      else for await (const c of body) n += (c as Buffer).length;
      stored.set(key, n);
      sorted = undefined;
      return {};
    },
    async delete(key) {
      stored.delete(key);
      sorted = undefined;
    },
    validateKey() {},
  };
}

/**
 * An in-process worker on `temporal` under which the fs paths `/synthetic/src` and `/synthetic/sink` open a
 * synthetic source of `count` 64-byte objects and a sink (returned, to look into).
 */
export async function startSyntheticWorker(temporal: TemporalTestServer, count: number): Promise<{ source: ObjectProvider; sink: ReturnType<typeof syntheticSink>; worker: InProcessWorker }> {
  const source = syntheticSource(count, 64);
  const sink = syntheticSink();
  const worker = await startWorker(temporal, {
    deps: { openProvider: (spec: EndpointConfig, ctx) => (spec.path === '/synthetic/src' ? source : spec.path === '/synthetic/sink' ? sink : openProvider(spec, ctx)) },
  });
  return { source, sink, worker };
}
