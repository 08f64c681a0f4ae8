/**
 * The metadata part of a checksum verify (`checksum`, `checksum-strict`, `content`): what travels with an object
 * (write-options.ts) compared between source and destination after a copy, for objects found in place, and in
 * verify-only jobs. Content type (when the source has one), the standard headers, user metadata and tags must be
 * equal; the storage class and encryption when the job set them. A difference fails the object with
 * MetadataMismatchError naming the fields. Stores that keep no metadata (fs without sidecars, http) are not compared.
 */
import type { Encryption, ObjectHeaders, ObjectInfo } from '../storage/provider';
import type { Batch } from './batch';
import { readTags, sourceTags, writeFields, type WriteFields } from './write-options';
import { MetadataMismatchError } from '../common/errors';

/** Metadata Ferry itself adds to a destination (multipart.ts records a CRC-64 where the store keeps none). */
const FERRY_ADDED = new Set(['ferry-crc64ecma']);
/** Default storage class names: a destination that reports none stores this class. */
const DEFAULT_CLASSES = new Set(['STANDARD', 'Standard']);

/** The fields to expect at the destination when the copy did not say (found in place, verify-only, server-side copy). */
async function expectedFromSource(batch: Batch, o: ObjectInfo): Promise<WriteFields> {
  const [read, tags] = await Promise.all([batch.src.stat(o.key, { signal: batch.signal }), sourceTags(batch.src, batch.dst.capabilities, o.key, batch.signal)]);
  return writeFields(batch.input.job, { ...read, key: o.key, storageClass: read.storageClass ?? o.storageClass }, tags, batch.dst.capabilities);
}

/**
 * Compares the destination's fields with `expected` (what the copy wrote; the source read again when absent).
 * Throws MetadataMismatchError naming each differing field.
 */
export async function compareMetadata(batch: Batch, o: ObjectInfo, dstKey: string, expected?: WriteFields): Promise<void> {
  const { src, dst } = batch;
  if (!src.capabilities.metadata || !dst.capabilities.metadata) return;
  const want = expected ?? (await expectedFromSource(batch, o));
  // Tags compare when both stores hold them (a store answering 501 to tagging holds none).
  const [have, haveTags] = await Promise.all([dst.stat(dstKey, { signal: batch.signal }), src.capabilities.tags ? readTags(dst, dstKey, batch.signal) : undefined]);
  const diffs = metadataDifferences(batch.input.job.writes !== undefined, want, have, haveTags);
  if (diffs.length) throw new MetadataMismatchError(`${dstKey}: what travels with the object differs at the destination: ${diffs.join('; ')}`, { code: 'MetadataMismatch' });
}

const shown = (v: string | undefined) => (v === undefined ? 'none' : JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v));

/** Each field that differs, as `name: destination X, source Y`. Pure. `jobWrites`: the job set class/encryption/ACL. */
export function metadataDifferences(jobWrites: boolean, want: WriteFields, have: ObjectInfo, haveTags: Record<string, string> | undefined): string[] {
  const diffs: string[] = [];
  const differ = (name: string, d: string | undefined, s: string | undefined) => diffs.push(`${name}: destination ${shown(d)}, source ${shown(s)}`);
  if (want.contentType !== undefined && have.contentType !== want.contentType) differ('content-type', have.contentType, want.contentType);
  for (const field of ['cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage', 'expires'] as (keyof ObjectHeaders)[]) {
    const s = want.headers?.[field];
    const d = have.headers?.[field];
    if (!sameHeader(field, s, d)) differ(field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), d, s);
  }
  const wantMeta = lowerKeys(want.metadata);
  const haveMeta = lowerKeys(have.metadata);
  for (const name of new Set([...Object.keys(wantMeta), ...Object.keys(haveMeta)])) {
    if (!(name in wantMeta) && FERRY_ADDED.has(name)) continue;
    if (wantMeta[name] !== haveMeta[name]) differ(`metadata ${name}`, haveMeta[name], wantMeta[name]);
  }
  if (haveTags !== undefined) {
    const wantTags = want.tags ?? {};
    for (const k of new Set([...Object.keys(wantTags), ...Object.keys(haveTags)])) if (wantTags[k] !== haveTags[k]) differ(`tag ${k}`, haveTags[k], wantTags[k]);
  }
  if (jobWrites && want.storageClass !== undefined && !sameClass(want.storageClass, have.storageClass)) differ('storage class', have.storageClass, want.storageClass);
  if (jobWrites && want.encryption && !sameEncryption(want.encryption, have.encryption)) differ('encryption', encryptionText(have.encryption), encryptionText(want.encryption));
  return diffs;
}

function lowerKeys(m: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Expires compares as a time when both sides are dates (a store may rewrite the date's form); the rest as text. */
function sameHeader(field: keyof ObjectHeaders, a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (field !== 'expires' || a === undefined || b === undefined) return false;
  const [x, y] = [Date.parse(a), Date.parse(b)];
  return !Number.isNaN(x) && x === y;
}

const sameClass = (want: string, have: string | undefined) => want === have || (have === undefined && DEFAULT_CLASSES.has(want));

/** A KMS key id given as an id may come back as the key's ARN (`…:key/<id>`). */
function sameEncryption(want: Encryption, have: Encryption | undefined): boolean {
  if (!have || have.algorithm !== want.algorithm) return false;
  return !want.keyId || have.keyId === want.keyId || !!have.keyId?.endsWith(`/${want.keyId}`);
}

const encryptionText = (e: Encryption | undefined) => (e ? `${e.algorithm}${e.keyId ? ` ${e.keyId}` : ''}` : undefined);
