/**
 * `fs` provider: a local or NAS directory tree as a bucket. Keys are paths relative to the root, listed in
 * UTF-8 byte order of the whole key (like S3), so task key ranges mean the same thing on every provider.
 *
 * Safety: a key never reaches outside the root — `..`/`.` segments, absolute paths, empty segments, NUL and
 * over-long names are refused with an InvalidKeyError naming the rule, and writes check that the real parent
 * directory is inside the real root (a symlinked directory cannot redirect a write). Writes go to a temp
 * file under `<root>/.ferry-uploads/` and are renamed into place, so readers never see partial objects.
 * Multipart uploads keep their parts there too (so a killed worker resumes inside a large object).
 *
 * Symbolic links: every link is listed (size 0 when not followed) and stat/get refuse it with a
 * SymlinkSkippedError naming its target, so none is skipped silently. With `followSymlinks` a link whose real path
 * stays under the real root is followed (a directory link descended unless it loops back to a directory it is
 * inside); links that leave the root or dangle are still refused.
 *
 * This file is the provider; the rules live beside it: keys.ts (key ↔ path), links.ts (symlinks), walk.ts
 * (listing), writes.ts (staged writes), multipart.ts (emulated multipart), errors.ts (error mapping), sidecar.ts
 * (headers, metadata and tags beside the files, with the job's `metadata.sidecar`).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Capabilities, CopySource, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, UploadedPart, WriteOptions } from '../provider';
import type { ProviderContext } from '../registry';
import { InvalidConfigError, NotFoundError } from '../../common/errors';
import { mapFsError, undecodable } from './errors';
import { FsRoot, validateFsKey } from './keys';
import { LinkRules } from './links';
import { KeyOrderWalk } from './walk';
import { StagedWrites } from './writes';
import { EmulatedMultipart, type FsUpload } from './multipart';
import { Sidecars, sidecarFieldsOf } from './sidecar';

export { FS_INTERNAL_DIR, validateFsKey } from './keys';

const capabilities: Capabilities = {
  checksums: [],
  etagIsMd5: false,
  maxSinglePut: Number.MAX_SAFE_INTEGER,
  multipart: { minPartSize: 1, maxPartSize: 5 * 1024 ** 3, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: Number.MAX_SAFE_INTEGER,
  uploadPartCopy: false,
  writable: true,
  trailingSlashKeys: false,
  emptyPathSegments: false,
  metadata: false,
  order: 'key',
};

/** With sidecar files (sidecar.ts): content type, headers, metadata and tags are kept. */
const sidecarCapabilities: Capabilities = { ...capabilities, metadata: true, tags: true };

class FsProvider implements ObjectProvider {
  readonly type = 'fs';
  readonly capabilities: Capabilities;
  /**
   * A server-side copy (copyObject) reads the source root with the destination provider's link rule, so only
   * roots opened with the same rule share an endpointId (the engine's test for copying server-side).
   */
  readonly endpointId: string;
  readonly bucket: string;
  private readonly root: FsRoot;
  private readonly links: LinkRules;
  private readonly listings: KeyOrderWalk;
  private readonly writes: StagedWrites;
  private readonly multipart: EmulatedMultipart;
  /** The other root server-side copies last read from (see peer). */
  private source: FsProvider | undefined;
  /** Sidecar files of this root, when the job keeps them (`metadata.sidecar`). */
  private readonly sidecars: Sidecars | undefined;

  constructor(root: string, follow: boolean, sidecar = false) {
    this.root = new FsRoot(root);
    this.bucket = this.root.path;
    this.endpointId = follow ? 'fs|followSymlinks' : 'fs';
    this.links = new LinkRules(this.root, follow);
    this.listings = new KeyOrderWalk(this.root, this.links);
    this.writes = new StagedWrites(this.root, this.listings);
    this.multipart = new EmulatedMultipart(this.root, this.writes);
    this.sidecars = sidecar ? new Sidecars(this.root, this.writes) : undefined;
    this.capabilities = sidecar ? sidecarCapabilities : capabilities;
  }

  validateKey(key: string): void {
    validateFsKey(key);
  }

  list(opts: ListOptions = {}): Promise<ListPage> {
    return this.listings.list(opts);
  }

  async stat(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const path = this.root.pathOf(key);
    opts.signal?.throwIfAborted();
    let st;
    try {
      await this.links.checkParents(key, path);
      st = await fsp.lstat(path);
      if (st.isSymbolicLink()) st = await fsp.stat(await this.links.followedPath(key, path));
    } catch (e) {
      await this.root.realPath();
      throw undecodable(key, e) ?? mapFsError(e, `stat ${JSON.stringify(key)}`);
    }
    if (!st.isFile()) throw new NotFoundError(`stat ${JSON.stringify(key)}: not a file`);
    return { key, size: st.size, lastModified: Math.floor(st.mtimeMs), position: key, ...(await this.sidecars?.read(key)) };
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const path = this.root.pathOf(key);
    let handle: fsp.FileHandle;
    try {
      handle = await this.links.openToRead(key, path);
    } catch (e) {
      await this.root.realPath();
      throw undecodable(key, e) ?? mapFsError(e, `get ${JSON.stringify(key)}`);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new NotFoundError(`get ${JSON.stringify(key)}: not a file`);
      const kept = await this.sidecars?.read(key);
      const start = opts.range?.start ?? 0;
      const end = Math.min(opts.range?.end ?? st.size - 1, st.size - 1);
      const contentLength = Math.max(0, end - start + 1);
      const body =
        contentLength === 0
          ? (await handle.close(), Readable.from([]))
          : createReadStream('', { fd: handle, start, end, autoClose: true, signal: opts.signal, highWaterMark: 256 * 1024 });
      return { body, contentLength, info: { key, size: st.size, lastModified: Math.floor(st.mtimeMs), position: key, ...kept } };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw mapFsError(e, `get ${JSON.stringify(key)}`);
    }
  }

  /** With sidecars, the sidecar is written first: a write cut off after it leaves the key's old bytes, which a retry replaces. */
  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<PutResult> {
    await this.sidecars?.write(key, sidecarFieldsOf(opts));
    await this.writes.put(key, body, opts.size, opts.signal);
    return {};
  }

  async createMultipart(key: string, opts: WriteOptions = {}): Promise<string> {
    validateFsKey(key);
    await this.sidecars?.write(key, sidecarFieldsOf(opts));
    return this.multipart.create(key);
  }

  uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    return this.multipart.uploadPart(key, uploadId, partNumber, body, size, opts.signal);
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[], opts: { signal?: AbortSignal } = {}): Promise<PutResult> {
    await this.multipart.complete(key, uploadId, parts, opts.signal);
    return {};
  }

  abortMultipart(_key: string, uploadId: string): Promise<void> {
    return this.multipart.abort(uploadId);
  }

  listMultipartUploads(prefix = ''): Promise<FsUpload[]> {
    return this.multipart.list(prefix);
  }

  /** Server-side copy from another fs root (`source.bucket` is that root): a kernel copy, reflinked where the fs can. */
  async copyObject(source: CopySource, key: string, opts: WriteOptions = {}): Promise<PutResult> {
    validateFsKey(source.key);
    const locate = () => this.peer(source.bucket).links.pathToRead(source.key);
    // Fields given replace the source's (as on S3); none given: the source root's sidecar travels with the bytes.
    if (this.sidecars) await this.sidecars.write(key, sidecarFieldsOf(opts) ?? sidecarFieldsOf(await new Sidecars(this.peer(source.bucket).root, this.writes).read(source.key)));
    await this.writes.copyIn(key, locate, `copy ${JSON.stringify(source.key)}`, opts.signal);
    return {};
  }

  /** The root a server-side copy reads from, with this provider's link rule (see endpointId). */
  private peer(bucket: string): FsProvider {
    if (resolve(bucket) === this.bucket) return this;
    if (this.source?.bucket !== resolve(bucket)) this.source = new FsProvider(bucket, this.links.follow);
    return this.source;
  }

  async delete(key: string): Promise<void> {
    await this.writes.delete(key);
    await this.sidecars?.remove(key);
  }

  /** Tags kept in the object's sidecar (`{}` without one). */
  async getTags(key: string): Promise<Record<string, string>> {
    validateFsKey(key);
    return (await this.sidecars?.read(key))?.tags ?? {};
  }
}

/** Opens an fs root (`path:` in the job). */
export function openFsProvider(spec: EndpointSpec, _ctx: ProviderContext = {}): ObjectProvider {
  if (!spec.path) throw new InvalidConfigError(['path: an fs endpoint needs "path" (the root directory)']);
  return new FsProvider(spec.path, spec.followSymlinks === true, spec.sidecar === true);
}

openFsProvider satisfies (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;
