/**
 * Bucket versioning for the OSS test server (oss-server.ts): PutBucketVersioning / GetBucketVersioning, the version
 * history of each key with delete markers, version ids on writes (`x-oss-version-id`), GET/HEAD/DELETE and copy
 * sources with `versionId`, and ListObjectVersions (`GET /?versions`) with key-marker / version-id-marker / max-keys
 * paging and `encoding-type=url`.
 *
 * The server keeps its current objects as before; this module keeps each versioned key's history (oldest first) and
 * tells the server which object is current after a change. A bucket whose versioning was never set has no history:
 * writes and deletes behave as without this module. Enabling versioning gives the objects already there the version
 * `null`, as OSS does; with versioning suspended, writes and delete markers replace the key's `null` version.
 */
import { randomBytes } from 'node:crypto';
import { compareKeys } from '../../common/keys';

/** What this module needs of a stored object. */
export interface VersionedObject {
  key: string;
  file: string;
  size: number;
  /** Unquoted. */
  etag: string;
  type: string;
  lastModified: Date;
  /** The object's version id (set by {@link OssVersions.added}; absent in a bucket that never had versioning). */
  versionId?: string;
  fields?: { storageClass?: string };
}

interface Version<O> {
  id: string;
  /** The object; undefined for a delete marker. */
  obj?: O;
  lastModified: Date;
}

/** The server's side: its current objects, body files and errors. */
export interface VersionStore<O> {
  /** Current objects of a bucket (when versioning is first enabled). */
  objects(bucket: string): O[];
  /** Makes `obj` the current object of `key` (undefined: the key has no current object). */
  setCurrent(bucket: string, key: string, obj: O | undefined): void;
  removeFile(file: string): void;
  error(status: number, code: string, message: string): Error;
}

export type VersioningState = 'Enabled' | 'Suspended';

const OWNER = '1234567890123456';

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const t = (name: string, value: string | number | boolean) => `<${name}>${escapeXml(String(value))}</${name}>`;
const el = (name: string, ...children: string[]) => `<${name}>${children.join('')}</${name}>`;
/** `encoding-type=url` values as the server writes them (space as `+`). */
const urlEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
const now = () => new Date(Math.floor(Date.now() / 1000) * 1000);

export class OssVersions<O extends VersionedObject> {
  private readonly state = new Map<string, VersioningState>();
  /** bucket → key → versions, oldest first. */
  private readonly histories = new Map<string, Map<string, Version<O>[]>>();

  constructor(private readonly store: VersionStore<O>) {}

  status(bucket: string): VersioningState | undefined {
    return this.state.get(bucket);
  }

  private history(bucket: string, key: string): Version<O>[] {
    let keys = this.histories.get(bucket);
    if (!keys) this.histories.set(bucket, (keys = new Map()));
    let h = keys.get(key);
    if (!h) keys.set(key, (h = []));
    return h;
  }

  private newId(bucket: string): string {
    return this.state.get(bucket) === 'Suspended' ? 'null' : randomBytes(24).toString('base64url');
  }

  /** PutBucketVersioning with the request body. */
  putVersioning(bucket: string, xml: string): void {
    const status = /<Status>\s*(\w+)\s*<\/Status>/.exec(xml)?.[1];
    if (status !== 'Enabled' && status !== 'Suspended') throw this.store.error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    if (!this.state.has(bucket)) {
      for (const o of this.store.objects(bucket)) {
        o.versionId = 'null';
        this.history(bucket, o.key).push({ id: 'null', obj: o, lastModified: o.lastModified });
      }
    }
    this.state.set(bucket, status);
  }

  /** GetBucketVersioning's body. */
  versioningXml(bucket: string): string {
    const s = this.state.get(bucket);
    return el('VersioningConfiguration', s ? t('Status', s) : '');
  }

  /** Drops the key's `null` version (suspended versioning replaces it), removing its body unless it is `keep`. */
  private dropNull(h: Version<O>[], keep: O | undefined): void {
    const i = h.findIndex((v) => v.id === 'null');
    if (i < 0) return;
    const [old] = h.splice(i, 1);
    if (old!.obj && old!.obj !== keep) this.store.removeFile(old!.obj.file);
  }

  /**
   * `obj` becomes the current object of its key, replacing `old`: gives it its version id and records it. Returns
   * whether `old`'s body is still held by a version (the server removes it otherwise).
   */
  added(bucket: string, obj: O, old: O | undefined): boolean {
    if (!this.state.has(bucket)) {
      delete obj.versionId;
      return false;
    }
    const h = this.history(bucket, obj.key);
    obj.versionId = this.newId(bucket);
    if (obj.versionId === 'null') this.dropNull(h, old);
    h.push({ id: obj.versionId, obj, lastModified: obj.lastModified });
    return !!old && h.some((v) => v.obj === old);
  }

  /**
   * DeleteObject in a bucket with versioning set (a delete marker), or of one version (`versionId`: that version
   * goes, the newest one left becomes current). Returns the answer's headers.
   */
  delete(bucket: string, key: string, versionId: string | undefined): Record<string, string> {
    const h = this.history(bucket, key);
    if (versionId === undefined) {
      const id = this.newId(bucket);
      if (id === 'null') this.dropNull(h, undefined);
      h.push({ id, lastModified: now() });
      this.store.setCurrent(bucket, key, undefined);
      return { 'x-oss-delete-marker': 'true', 'x-oss-version-id': id };
    }
    const i = h.findIndex((v) => v.id === versionId);
    if (i < 0) return {};
    const [gone] = h.splice(i, 1);
    this.store.setCurrent(bucket, key, h[h.length - 1]?.obj);
    if (gone!.obj) this.store.removeFile(gone!.obj.file);
    return { 'x-oss-version-id': versionId, ...(gone!.obj ? {} : { 'x-oss-delete-marker': 'true' }) };
  }

  /** The object of `key` at `versionId` (GET/HEAD/copy source). 404 NoSuchVersion; 405 for a delete marker. */
  find(bucket: string, key: string, versionId: string): O {
    const v = this.histories.get(bucket)?.get(key)?.find((x) => x.id === versionId);
    if (!v) throw this.store.error(404, 'NoSuchVersion', 'The specified version does not exist.');
    if (!v.obj) throw this.store.error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource (a delete marker).');
    return v.obj;
  }

  /** ListObjectVersions' body for the request's query. */
  listXml(bucket: string, q: Map<string, string>, current: (key: string) => O | undefined, currentKeys: string[]): string {
    const prefix = q.get('prefix') ?? '';
    const keyMarker = q.get('key-marker') ?? '';
    const idMarker = q.get('version-id-marker') ?? '';
    const max = Math.min(Math.max(Number(q.get('max-keys') ?? 100) || 100, 1), 1000);
    const enc = q.get('encoding-type') === 'url' ? urlEncode : (s: string) => s;
    const histories = this.histories.get(bucket) ?? new Map<string, Version<O>[]>();
    // Keys with a history, and current objects of a bucket that never had versioning (their version is `null`).
    const keys = [...new Set([...histories.keys(), ...currentKeys])].filter((k) => k.startsWith(prefix) && (!keyMarker || compareKeys(k, keyMarker) >= 0)).sort(compareKeys);
    const entries: string[] = [];
    let last: { key: string; id: string } | undefined;
    let truncated = false;
    outer: for (const key of keys) {
      const h = histories.get(key) ?? [{ id: 'null', obj: current(key)!, lastModified: current(key)!.lastModified }];
      const newestFirst = [...h].reverse();
      let from = 0;
      if (key === keyMarker) {
        if (!idMarker) continue;
        from = newestFirst.findIndex((v) => v.id === idMarker) + 1;
        if (from === 0) continue;
      }
      for (let i = from; i < newestFirst.length; i++) {
        if (entries.length >= max) {
          truncated = true;
          break outer;
        }
        const v = newestFirst[i]!;
        entries.push(this.entryXml(key, v, i === 0, enc));
        last = { key, id: v.id };
      }
    }
    return el(
      'ListVersionsResult',
      t('Name', bucket),
      t('Prefix', enc(prefix)),
      t('KeyMarker', enc(keyMarker)),
      t('VersionIdMarker', idMarker),
      t('MaxKeys', max),
      t('Delimiter', ''),
      q.get('encoding-type') === 'url' ? t('EncodingType', 'url') : '',
      t('IsTruncated', truncated),
      truncated && last ? t('NextKeyMarker', enc(last.key)) + t('NextVersionIdMarker', last.id) : '',
      ...entries,
    );
  }

  private entryXml(key: string, v: Version<O>, latest: boolean, enc: (s: string) => string): string {
    const owner = el('Owner', t('ID', OWNER), t('DisplayName', OWNER));
    const common = [t('Key', enc(key)), t('VersionId', v.id), t('IsLatest', latest), t('LastModified', v.lastModified.toISOString())];
    if (!v.obj) return el('DeleteMarker', ...common, owner);
    const o = v.obj;
    return el('Version', ...common, t('ETag', `"${o.etag}"`), t('Type', o.type), t('Size', o.size), t('StorageClass', o.fields?.storageClass ?? 'Standard'), owner);
  }
}
