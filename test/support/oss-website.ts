/**
 * The OSS test server's bucket website configurations (PutBucketWebsite / GetBucketWebsite / DeleteBucketWebsite)
 * and their mirroring-based back-to-origin rules: which rule a missing key matches, and the fetch from its origin.
 *
 * A configuration is validated and kept as parsed XML; GetBucketWebsite renders it again (compact, elements in the
 * order given), so equal configurations read back byte-identical. Of the redirect types only `Mirror` acts (on
 * GET/HEAD of a missing key); `External`/`AliCDN` rules are stored and listed but redirect nothing. A mirror fetch
 * that ends in anything but a 200 (origin 404 or error, a 3xx with MirrorFollowRedirect false, a Content-MD5 that
 * does not match with MirrorCheckMd5) stores nothing, and the read answers NoSuchKey.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Builder, parseStringPromise, type XmlElement } from 'xml2js';

/** How the server builds its OSS errors (status, code, message). */
export type OssErrorFactory = (status: number, code: string, message: string) => Error;

/** A Mirror rule a key matched, with what the fetch needs. */
export interface MirrorRule {
  ruleNumber: number;
  /** `MirrorURL` + the key (prefix replaced when the rule says so), percent-encoded. */
  url: string;
  passQueryString: boolean;
  followRedirect: boolean;
  checkMd5: boolean;
  /** Headers to send to the origin (MirrorHeaders: PassAll/Pass/Remove from the request, then Set). */
  headers: Record<string, string>;
}

/** What the origin answered, to store. */
export interface OriginObject {
  body: Readable;
  contentType?: string;
  /** User metadata from `x-oss-meta-*` / `x-amz-meta-*` response headers (names lower-case, prefix cut). */
  meta: Record<string, string>;
  /** The origin's Content-MD5 when MirrorCheckMd5 asks to check it (base64). */
  md5?: string;
}

const ROOT = 'WebsiteConfiguration';
const MAX_RULES = 20;
const REDIRECT_TYPES = new Set(['Mirror', 'External', 'AliCDN']);
/** Request headers OSS never passes to an origin, even with PassAll. */
const NEVER_PASSED = /^(content-length|authorization2?|range|date|host|connection|(x-)?oss-.*|x-drs-.*)$/i;
/** Headless: the server adds the XML declaration to every answer. */
const builder = new Builder({ headless: true, renderOpts: { pretty: false } });

const first = (el: XmlElement | undefined, name: string): XmlElement | undefined => {
  const c = el?.[name]?.[0];
  return typeof c === 'object' ? c : undefined;
};
const textOf = (el: XmlElement | undefined, name: string): string | undefined => {
  const c = el?.[name]?.[0];
  return typeof c === 'string' ? c : c === undefined ? undefined : '';
};
const all = (el: XmlElement | undefined, name: string): XmlElement[] => (el?.[name] ?? []).filter((c): c is XmlElement => typeof c === 'object');
const flag = (el: XmlElement | undefined, name: string, byDefault: boolean) => {
  const v = textOf(el, name);
  return v === undefined ? byDefault : v.trim().toLowerCase() === 'true';
};
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** Website configurations by bucket. */
export class OssWebsites {
  private readonly configs = new Map<string, XmlElement>();

  constructor(private readonly fail: OssErrorFactory) {}

  /** PutBucketWebsite: validates `xml` and keeps it. Throws 400 MalformedXML / InvalidArgument. */
  async put(bucket: string, xml: string): Promise<void> {
    let doc: Record<string, XmlElement | string>;
    try {
      doc = await parseStringPromise(xml);
    } catch {
      throw this.fail(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const config = doc[ROOT];
    if (typeof config !== 'object' || !['IndexDocument', 'ErrorDocument', 'RoutingRules'].some((n) => config[n])) {
      throw this.fail(400, 'MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${ROOT} needs IndexDocument, ErrorDocument or RoutingRules.`);
    }
    this.checkRules(all(first(config, 'RoutingRules'), 'RoutingRule'));
    this.configs.set(bucket, config);
  }

  /** GetBucketWebsite: the stored configuration. Throws 404 NoSuchWebsiteConfiguration. */
  get(bucket: string): string {
    const config = this.configs.get(bucket);
    if (!config) throw this.fail(404, 'NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration.');
    return builder.buildObject({ [ROOT]: config });
  }

  /** DeleteBucketWebsite (no error when there is none). */
  delete(bucket: string): void {
    this.configs.delete(bucket);
  }

  private checkRules(rules: XmlElement[]): void {
    const invalid = (message: string) => this.fail(400, 'InvalidArgument', message);
    if (rules.length > MAX_RULES) throw invalid(`At most ${MAX_RULES} RoutingRule elements are allowed.`);
    const numbers = new Set<number>();
    for (const rule of rules) {
      const n = Number(textOf(rule, 'RuleNumber'));
      if (!Number.isInteger(n) || n < 1) throw invalid(`RuleNumber must be a positive integer, got ${JSON.stringify(textOf(rule, 'RuleNumber'))}.`);
      if (numbers.has(n)) throw invalid(`RuleNumber ${n} is used twice.`);
      numbers.add(n);
      const redirect = first(rule, 'Redirect');
      const type = textOf(redirect, 'RedirectType') ?? '';
      if (!REDIRECT_TYPES.has(type)) throw invalid(`RedirectType must be one of ${[...REDIRECT_TYPES].join(', ')}, got ${JSON.stringify(type)}.`);
      if (type !== 'Mirror') continue;
      if (!/^https?:\/\/[^/]+(\/.*)?\/$/i.test(textOf(redirect, 'MirrorURL') ?? '')) throw invalid('MirrorURL must start with http:// or https:// and end with /.');
      if (textOf(first(rule, 'Condition'), 'HttpErrorCodeReturnedEquals') !== '404') throw invalid('A Mirror rule needs Condition/HttpErrorCodeReturnedEquals 404.');
    }
  }

  /** The Mirror rule a read of the missing `key` runs: the first matching rule by RuleNumber, when it is a Mirror. */
  mirrorRule(bucket: string, key: string, request: IncomingHttpHeaders): MirrorRule | undefined {
    const rules = all(first(this.configs.get(bucket), 'RoutingRules'), 'RoutingRule').sort((a, b) => Number(textOf(a, 'RuleNumber')) - Number(textOf(b, 'RuleNumber')));
    const rule = rules.find((r) => this.matches(first(r, 'Condition'), key, request));
    const redirect = first(rule, 'Redirect');
    if (!rule || textOf(redirect, 'RedirectType') !== 'Mirror') return undefined;
    const prefix = textOf(first(rule, 'Condition'), 'KeyPrefixEquals') ?? '';
    const path = flag(redirect, 'EnableReplacePrefix', false) ? (textOf(redirect, 'ReplaceKeyPrefixWith') ?? '') + key.slice(prefix.length) : key;
    return {
      ruleNumber: Number(textOf(rule, 'RuleNumber')),
      url: textOf(redirect, 'MirrorURL')! + encodeKey(path),
      passQueryString: flag(redirect, 'MirrorPassQueryString', flag(redirect, 'PassQueryString', false)),
      followRedirect: flag(redirect, 'MirrorFollowRedirect', true),
      checkMd5: flag(redirect, 'MirrorCheckMd5', false),
      headers: originHeaders(first(redirect, 'MirrorHeaders'), request),
    };
  }

  private matches(condition: XmlElement | undefined, key: string, request: IncomingHttpHeaders): boolean {
    const code = textOf(condition, 'HttpErrorCodeReturnedEquals');
    if (code !== undefined && code !== '404') return false;
    if (!key.startsWith(textOf(condition, 'KeyPrefixEquals') ?? '')) return false;
    if (!key.endsWith(textOf(condition, 'KeySuffixEquals') ?? '')) return false;
    return all(condition, 'IncludeHeader').every((h) => request[(textOf(h, 'Key') ?? '').toLowerCase()] === textOf(h, 'Equals'));
  }
}

/** MirrorHeaders applied to the reader's request headers. */
function originHeaders(mirrorHeaders: XmlElement | undefined, request: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const value = (name: string) => {
    const v = request[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const removed = new Set((mirrorHeaders?.Remove ?? []).map((n) => String(n).toLowerCase()));
  const passed = flag(mirrorHeaders, 'PassAll', false) ? Object.keys(request) : (mirrorHeaders?.Pass ?? []).map((n) => String(n).toLowerCase());
  for (const name of passed) {
    const v = value(name);
    if (v !== undefined && !removed.has(name) && !NEVER_PASSED.test(name)) out[name] = v;
  }
  for (const set of all(mirrorHeaders, 'Set')) out[(textOf(set, 'Key') ?? '').toLowerCase()] = textOf(set, 'Value') ?? '';
  return out;
}

/** The reader's query string without OSS's own signing parameters. */
function passedQuery(rawQuery: string): string {
  return rawQuery
    .split('&')
    .filter((p) => p && !/^(OSSAccessKeyId|Expires|Signature|security-token|x-oss-[^=]*)(=|$)/i.test(p))
    .join('&');
}

/** GET of the origin object for `rule`; undefined when the origin has none to store (see the module comment). */
export async function fetchFromOrigin(rule: MirrorRule, rawQuery: string): Promise<OriginObject | undefined> {
  const query = rule.passQueryString ? passedQuery(rawQuery) : '';
  const res = await fetch(query ? `${rule.url}?${query}` : rule.url, { headers: rule.headers, redirect: rule.followRedirect ? 'follow' : 'manual' });
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    return undefined;
  }
  const meta: Record<string, string> = {};
  for (const [name, v] of res.headers) {
    const m = /^x-(?:oss|amz)-meta-(.+)$/.exec(name);
    if (m) meta[m[1]!] = v;
  }
  const md5 = rule.checkMd5 ? (res.headers.get('content-md5') ?? undefined) : undefined;
  return { body: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), contentType: res.headers.get('content-type') ?? undefined, meta, ...(md5 ? { md5 } : {}) };
}

