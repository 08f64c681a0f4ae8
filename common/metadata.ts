/** User metadata as HTTP headers can carry it: one check before any write. No Node I/O here. */
import { InvalidMetadataError } from './errors';

/** RFC 9110 token: what a header name (after `x-amz-meta-`/`x-oss-meta-`) may hold. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** C0 (tab aside), DEL and C1: a CR or LF would end the header; servers refuse or strip the others. */
const CONTROL = /[\0-\x08\n-\x1f\x7f-\x9f]/;
/** Values that travel as they are: printable ASCII and tab (an encoded-word read from S3 is one of them). */
const PLAIN = /^[\t\x20-\x7e]*$/;
/** Characters of a refused name or value quoted in an error message. */
const SHOWN = 40;

const encoder = new TextEncoder();

/**
 * The metadata to write for object `key` to a destination: names are checked, printable-ASCII values kept as
 * they are (so an RFC 2047 encoded-word read from S3 round-trips byte-exact), and any other value is sent as one
 * `=?UTF-8?B?…?=` encoded-word, the form the S3 console writes non-ASCII metadata in. Node's HTTP clients refuse
 * characters above U+00FF in headers and would send U+0080–U+00FF as single Latin-1 bytes.
 *
 * `stored`: the destination's `capabilities.metadata`; when false it keeps no metadata, so nothing is refused and
 * `metadata` is returned as it is.
 *
 * @throws InvalidMetadataError (not retryable) naming the key and field, for a name that is not an HTTP token or
 *   a value with a control character other than tab.
 */
export function headerMetadata(key: string, metadata: Readonly<Record<string, string>> | undefined, stored = true): Record<string, string> | undefined {
  if (!stored || !metadata) return metadata;
  // fromEntries, not assignment: a `__proto__` name stays an own entry.
  return Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name, headerValue(key, name, value)]));
}

function headerValue(key: string, name: string, value: string): string {
  if (!TOKEN.test(name)) throw refused(key, name, `its name is not an HTTP token (letters, digits and !#$%&'*+-.^_\`|~ only)`);
  const control = CONTROL.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw refused(key, name, `its value ${shown(value)} holds control character U+${code}`);
  }
  return PLAIN.test(value) ? value : `=?UTF-8?B?${base64(encoder.encode(value))}?=`;
}

function refused(key: string, name: string, why: string): InvalidMetadataError {
  return new InvalidMetadataError(`metadata ${shown(name)} of ${JSON.stringify(key)} cannot be sent in an HTTP header: ${why}`, { code: 'InvalidMetadata' });
}

/** A quoted, escaped and cut form of `s`: a value can be kilobytes long. */
function shown(s: string): string {
  return s.length <= SHOWN ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, SHOWN))}… (${s.length} characters)`;
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
