/**
 * AWS Signature Version 4 for S3 requests (`UNSIGNED-PAYLOAD`, as the SDK signs streamed bodies). Hand-written
 * because the SDK's signer needs its middleware stack around it; locked to `@smithy/signature-v4` by tests.
 */
import * as crypto from 'node:crypto';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** AWS's UriEncode: every byte but `A-Z a-z 0-9 - . _ ~` percent-encoded. */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Keys that UriEncode leaves as they are (with `/` kept): most keys, so the common case allocates nothing. */
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/** UriEncode of a key with its `/` kept. */
export function uriEncodePath(key: string): string {
  return UNRESERVED_PATH.test(key) ? key : key.split('/').map(uriEncode).join('/');
}

/** The canonical (sorted, encoded) query string, which is also what is sent. */
export function canonicalQuery(query: Record<string, string> = {}): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(query[k]!)}`)
    .join('&');
}

const hmac = (key: Buffer | string, data: string) => crypto.createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string) => crypto.createHash('sha256').update(data, 'utf8').digest('hex');

/** Derived signing keys by secret, day and region (a handful live), so a request costs one HMAC chain less. */
const signingKeys = new Map<string, Buffer>();
function signingKey(secret: string, day: string, region: string): Buffer {
  const id = `${day}\n${region}\n${secret}`;
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size >= 64) signingKeys.clear();
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
    signingKeys.set(id, key);
  }
  return key;
}

/** A header value as SigV4 signs it: trimmed, whitespace runs collapsed to one space. */
const NOT_CANONICAL = /^\s|\s$|\s\s|[^\S ]/;
const canonicalValue = (v: string) => (NOT_CANONICAL.test(v) ? v.trim().replace(/\s+/g, ' ') : v);

/** `x-amz-date` (`YYYYMMDDTHHMMSSZ`) of `now`. */
const amzDate = (now: Date) => now.toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * Adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` and `authorization` to `headers` (lower-case
 * names). `query` is the canonical query string. Every header present is signed.
 */
export function signV4(method: string, path: string, query: string, headers: Record<string, string>, creds: SigV4Credentials, region: string, now = new Date()): void {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  headers['x-amz-date'] = date;
  headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(headers).sort();
  let canonicalHeaders = '';
  for (const n of names) canonicalHeaders += `${n}:${canonicalValue(headers[n]!)}\n`;
  const signed = names.join(';');
  const canonical = `${method}\n${path}\n${query}\n${canonicalHeaders}\n${signed}\nUNSIGNED-PAYLOAD`;
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonical)}`;
  const key = signingKey(creds.secretAccessKey, day, region);
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${crypto.createHmac('sha256', key).update(toSign, 'utf8').digest('hex')}`;
}
