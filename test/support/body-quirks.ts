/** Answer-side quirks of object stores seen in the field (bodies, ranges, ETags, checksums, metadata), shared by the OSS test server and the S3 quirk proxy. */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Ways a store's answers depart from S3/OSS. All off by default. */
export interface BodyQuirks {
  /** GetObject bodies come without Content-Length and without chunked encoding: the body ends when the connection closes. */
  noContentLength?: boolean;
  /** GetObject ignores `Range`: 200 with the whole object. */
  ignoreRange?: boolean;
  /** Answers carry an empty ETag header (writes, parts, completion, HEAD/GET); completion accepts parts listed with empty ETags. */
  emptyEtags?: boolean;
  /** With `emptyEtags`: completion still checks every part's ETag, and so refuses parts listed with the empty ETags it sent. */
  partEtagsRequired?: boolean;
  /** Answers carry no checksum headers (`x-oss-hash-crc64ecma`, `x-amz-checksum-*`, `Content-MD5`). */
  noChecksumHeaders?: boolean;
  /** InitiateMultipartUpload ignores user metadata; CompleteMultipartUpload takes it from its own headers instead. */
  metadataOnlyOnComplete?: boolean;
}

const CHECKSUM_HEADER = /^(x-oss-hash-crc64ecma|content-md5|x-amz-checksum-.*)$/i;

/**
 * The headers of an answer as the quirks change them. `getBody`: a 2xx GetObject answer with a body (the only
 * answers `noContentLength` changes; the caller must also make the response close-framed, {@link closeFramed}).
 */
export function quirkHeaders(headers: OutgoingHttpHeaders | IncomingHttpHeaders, quirks: BodyQuirks, getBody: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (quirks.noChecksumHeaders && CHECKSUM_HEADER.test(lower)) continue;
    if (getBody && quirks.noContentLength && (lower === 'content-length' || lower === 'transfer-encoding')) continue;
    out[name] = quirks.emptyEtags && lower === 'etag' ? '' : value;
  }
  if (getBody && quirks.noContentLength) out.connection = 'close';
  return out;
}

/** Makes `res` send its body framed by closing the connection: neither Content-Length nor chunked encoding. */
export function closeFramed(res: ServerResponse): void {
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
}

/** Whether a CompleteMultipartUpload may take a part listed with ETag `listed` for one stored with `stored`. */
export function partEtagAccepted(quirks: BodyQuirks, stored: string, listed: string): boolean {
  if (stored.toUpperCase() === listed.toUpperCase()) return true;
  return !!quirks.emptyEtags && !quirks.partEtagsRequired && listed === '';
}
