/**
 * The source section: ossimport's `srcType` picks a handler that turns `srcDomain`, `srcBucket`, `srcPrefix`
 * and the source keys into a Ferry source. Stores Ferry has no provider for are read through their S3 API;
 * endpoints that cannot be derived exactly are flagged CONFIRM in a note.
 */
import { join } from 'node:path';
import type { Conversion, Section } from './conversion';
import { isUrl, withScheme } from './values';

/** The source settings of job.cfg, read once (empty = unset). */
interface SourceKeys {
  type?: string;
  domain?: string;
  bucket?: string;
  prefix?: string;
}

type SourceHandler = (c: Conversion, src: SourceKeys) => void;

/** Tencent COS v4 short region codes (ossimport's `srcDomain` for cos) → COS regions. */
const COS_REGIONS: Record<string, string> = {
  gz: 'ap-guangzhou', tj: 'ap-beijing-1', sh: 'ap-shanghai', bj: 'ap-beijing', cd: 'ap-chengdu', cq: 'ap-chongqing',
  hk: 'ap-hongkong', sgp: 'ap-singapore', ca: 'na-toronto', ger: 'eu-frankfurt',
};

const OSS_ENDPOINT_EXAMPLE = 'http://oss-cn-hangzhou.aliyuncs.com';

/** How the OSS endpoint checks word their advice for the source and the destination key. */
const OSS_ENDPOINT_WORDING = {
  srcDomain: { field: 'source.endpoint', publicAdvice: 'use the public endpoint elsewhere', bucketAdvice: `— give the region endpoint only (e.g. ${OSS_ENDPOINT_EXAMPLE})` },
  destDomain: { field: 'destination.endpoint', publicAdvice: 'use the public endpoint (without -internal) elsewhere', bucketAdvice: '(ossimport fails with InvalidBucketName) — give the region endpoint only' },
};

/** `domain` with a scheme when it is an http(s) URL; otherwise an issue naming `key` and an `example`. */
function endpointUrl(c: Conversion, key: string, domain: string, example: string): { url: string; added: boolean } | undefined {
  const endpoint = withScheme(domain);
  if (isUrl(endpoint.url)) return endpoint;
  c.issues.push(`${key}: ${JSON.stringify(domain)} is not an endpoint URL, e.g. ${example}`);
  return undefined;
}

/** An OSS region endpoint (source or destination): mapped, or issues for a missing, malformed or bucket-named one. */
export function ossEndpoint(c: Conversion, key: 'srcDomain' | 'destDomain', domain: string | undefined, bucket: string | undefined): string | undefined {
  const wording = OSS_ENDPOINT_WORDING[key];
  if (!domain) {
    c.issues.push(`${key}: empty — the OSS endpoint without the bucket, e.g. ${OSS_ENDPOINT_EXAMPLE}`);
    return undefined;
  }
  const endpoint = endpointUrl(c, key, domain, OSS_ENDPOINT_EXAMPLE);
  if (!endpoint) return undefined;
  c.map(key, wording.field);
  if (endpoint.added) c.note(key, 'info', `has no scheme; using ${endpoint.url}`);
  if (/-internal\./.test(endpoint.url)) c.note(key, 'warn', `${domain} is an -internal endpoint: it works only from an ECS instance in the same region; ${wording.publicAdvice}`);
  if (bucket && new URL(endpoint.url).hostname.startsWith(`${bucket}.`)) c.issues.push(`${key}: ${JSON.stringify(domain)} contains the bucket name ${wording.bucketAdvice}`);
  return endpoint.url;
}

/** ossimport takes a bare bucket name; a path belongs in the matching prefix key. */
export function checkBucketName(c: Conversion, key: 'srcBucket' | 'destBucket', bucket: string | undefined): void {
  if (bucket && bucket.includes('/')) c.issues.push(`${key}: ${JSON.stringify(bucket)} must be a bucket name without "/" (put a path in ${key === 'srcBucket' ? 'srcPrefix' : 'destPrefix'})`);
}

/** Notes source keys that are set but mean nothing for this source type. */
function explainUnused(c: Conversion, keys: string[], why: string): void {
  for (const k of keys) if (c.value(k)) c.note(k, 'info', `not used ${why}`);
}

/** The part every bucket-based source shares: bucket, prefix and the key pair. */
function objectStore(c: Conversion, src: SourceKeys, type: 's3' | 'oss', endpoint: string | undefined, extra: Section = {}): void {
  const source = c.draft.source;
  source.type = type;
  if (endpoint) source.endpoint = endpoint;
  Object.assign(source, extra);
  if (src.bucket) source.bucket = src.bucket;
  if (src.prefix) {
    source.prefix = src.prefix;
    c.map('srcPrefix', 'source.prefix');
    if (src.prefix.startsWith('/') && src.type !== 'cos') c.note('srcPrefix', 'warn', `${JSON.stringify(src.prefix)} starts with "/": object keys rarely do, so this prefix probably matches nothing`);
  }
  if (src.bucket) c.map('srcBucket', 'source.bucket');
  else c.issues.push(`srcBucket: empty — required for srcType=${src.type}`);
  checkBucketName(c, 'srcBucket', src.bucket);
  const defaults = type === 'oss' ? 'OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET' : 'AWS environment/profile';
  c.takeKeyPair('source', ['srcAccessKey', 'srcSecretKey'], `${c.draft.name}-src`, `empty: the source uses the worker's default credentials (${defaults}); name a profile in source.credentials otherwise`);
}

function localSource(c: Conversion, src: SourceKeys): void {
  c.draft.source.type = 'fs';
  c.map('srcType', 'source.type');
  const dir = src.prefix;
  if (!dir) c.issues.push('srcPrefix: empty — for srcType=local it is the absolute source directory ending in "/", e.g. /data/example/');
  else {
    if (dir.includes('\\')) c.issues.push(`srcPrefix: ${JSON.stringify(dir)} uses "\\" — write the directory with "/" (c:/example/), as ossimport requires`);
    if (!/^(\/|[a-zA-Z]:\/)/.test(dir)) c.issues.push(`srcPrefix: ${JSON.stringify(dir)} is not an absolute directory — use e.g. /data/example/ or c:/example/`);
    if (!dir.endsWith('/')) c.issues.push(`srcPrefix: ${JSON.stringify(dir)} must end with "/" (ossimport rejects it otherwise; a single file cannot be named)`);
    if (dir.includes('//')) c.issues.push(`srcPrefix: ${JSON.stringify(dir)} contains "//"`);
    c.draft.source.path = dir;
    c.map('srcPrefix', 'source.path');
  }
  explainUnused(c, ['srcDomain', 'srcBucket', 'srcAccessKey', 'srcSecretKey'], 'for srcType=local');
}

function ossSource(c: Conversion, src: SourceKeys): void {
  c.map('srcType', 'source.type');
  objectStore(c, src, 'oss', ossEndpoint(c, 'srcDomain', src.domain, src.bucket));
}

/** AWS endpoints become a region (the SDK picks the endpoint); any other host is an S3-compatible store. */
function s3Source(c: Conversion, src: SourceKeys): void {
  c.map('srcType', 'source.type');
  let endpoint: string | undefined;
  const extra: Section = {};
  if (!src.domain) c.note('srcDomain', 'warn', 'empty: using AWS S3 in us-east-1; set source.region (or source.endpoint for an S3-compatible store)');
  const url = src.domain ? endpointUrl(c, 'srcDomain', src.domain, 'http://s3.us-east-1.amazonaws.com')?.url : undefined;
  if (url) {
    const host = new URL(url).hostname;
    const aws = /^(?:[^.]+\.)?s3[.-](?:dualstack\.)?([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(host);
    if (aws) {
      extra.region = aws[1];
      c.map('srcDomain', 'source.region', `srcDomain=${src.domain} (AWS: the SDK picks the endpoint for the region)`);
    } else if (/^(?:[^.]+\.)?s3(?:-external-1)?\.amazonaws\.com$/.test(host)) {
      extra.region = 'us-east-1';
      c.map('srcDomain', 'source.region', `srcDomain=${src.domain} (AWS global endpoint = us-east-1)`);
    } else {
      endpoint = url;
      c.map('srcDomain', 'source.endpoint');
      c.note('srcDomain', 'info', 'not an AWS endpoint: treated as an S3-compatible store (path-style addressing); set source.region if the store needs one');
    }
  }
  objectStore(c, src, 's3', endpoint, extra);
}

/** The COS region from `srcDomain` (a v4 short code or a region name); ap-guangzhou stands in when it is empty. */
function cosRegion(c: Conversion, domain: string | undefined): string | undefined {
  if (!domain) {
    c.note('srcDomain', 'warn', 'empty (COS v3): the region is unknown — ap-guangzhou is a placeholder; CONFIRM source.endpoint (https://cos.<region>.myqcloud.com) before running');
    return 'ap-guangzhou';
  }
  const region = (Object.hasOwn(COS_REGIONS, domain) ? COS_REGIONS[domain] : undefined) ?? (/^[a-z]{2}-[a-z]+(?:-\d)?$/.test(domain) ? domain : undefined);
  if (!region) {
    c.issues.push(`srcDomain: ${JSON.stringify(domain)} is not a COS region (gz, tj, sh, … or ap-guangzhou, ap-beijing, …)`);
    return undefined;
  }
  c.map('srcDomain', 'source.region', `srcDomain=${domain}`);
  c.note('srcType, srcDomain', 'warn', `CONFIRM source.endpoint https://cos.${region}.myqcloud.com: Ferry reads COS through its S3-compatible API, not the endpoint ossimport used`);
  return region;
}

/** COS through its S3 API, which names buckets `<bucket>-<appId>` and keys without a leading "/". */
function cosSource(c: Conversion, src: SourceKeys): void {
  c.map('srcType', 'source.type', 'srcType=cos (Tencent COS through its S3-compatible API)');
  const appId = c.value('appId');
  const region = cosRegion(c, src.domain) ?? 'ap-guangzhou';
  const hasAppId = !!appId && appId !== '0';
  const bucket = src.bucket && hasAppId && !src.bucket.endsWith(`-${appId}`) ? `${src.bucket}-${appId}` : src.bucket;
  if (hasAppId) c.recordMapped('appId', 'source.bucket');
  else if (src.bucket && !/-\d+$/.test(src.bucket)) c.note('appId', 'warn', `empty: COS's S3 API names buckets <bucket>-<appId>; CONFIRM source.bucket ${JSON.stringify(src.bucket)}`);
  objectStore(c, src, 's3', `https://cos.${region}.myqcloud.com`, { region });
  const source = c.draft.source;
  if (bucket) source.bucket = bucket;
  if (bucket !== src.bucket) c.comments.set('source.bucket', `srcBucket=${src.bucket}, appId=${appId} (COS S3 bucket name)`);
  if (src.prefix !== undefined) {
    const prefix = src.prefix.replace(/^\/+/, '');
    if (prefix) source.prefix = prefix;
    else delete source.prefix;
    if (prefix !== src.prefix) c.comments.set('source.prefix', `srcPrefix=${src.prefix} (leading "/" dropped for the S3 API)`);
  }
}

function bosSource(c: Conversion, src: SourceKeys): void {
  c.map('srcType', 'source.type', 'srcType=bos (Baidu BOS through its S3-compatible API)');
  let endpoint: string | undefined;
  let region: string | undefined;
  if (!src.domain) c.issues.push('srcDomain: empty — the BOS endpoint, e.g. http://bj.bcebos.com');
  else {
    const { url } = withScheme(src.domain);
    const m = isUrl(url) ? /^(?:s3\.)?([a-z0-9-]+)\.bcebos\.com$/.exec(new URL(url).hostname) : null;
    if (!m) c.issues.push(`srcDomain: ${JSON.stringify(src.domain)} is not a BOS endpoint like http://bj.bcebos.com`);
    else {
      region = m[1];
      endpoint = `https://s3.${region}.bcebos.com`;
      c.map('srcDomain', 'source.endpoint', `srcDomain=${src.domain}`);
      c.note('srcType, srcDomain', 'warn', `CONFIRM source.endpoint ${endpoint}: Ferry reads BOS through its S3-compatible API, not the endpoint ossimport used`);
    }
  }
  objectStore(c, src, 's3', endpoint, region ? { region } : {});
}

function ks3Source(c: Conversion, src: SourceKeys): void {
  c.map('srcType', 'source.type', 'srcType=ks3 (Kingsoft KS3 through its S3-compatible API)');
  if (!src.domain) c.issues.push('srcDomain: empty — the KS3 endpoint, e.g. http://ks3-cn-beijing.ksyun.com');
  const url = src.domain ? endpointUrl(c, 'srcDomain', src.domain, 'http://ks3-cn-beijing.ksyun.com')?.url : undefined;
  if (url) {
    c.map('srcDomain', 'source.endpoint');
    c.note('srcType, srcDomain', 'warn', `CONFIRM source.endpoint ${url}: Ferry reads KS3 through its S3-compatible API; use the region endpoint (e.g. ks3-cn-beijing.ksyuncs.com) if this one refuses S3 requests`);
  }
  objectStore(c, src, 's3', url);
}

function qiniuSource(c: Conversion, src: SourceKeys): void {
  c.map('srcType', 'source.type', 'srcType=qiniu (Qiniu Kodo through its S3-compatible API)');
  // srcDomain is the bucket's download domain; the S3 endpoint depends on the bucket's region, which it does not tell.
  if (!src.domain) c.issues.push('srcDomain: empty — the bucket\'s domain from the Qiniu console');
  else c.note('srcDomain', 'warn', `${src.domain} is a download domain; Ferry reads Qiniu through its S3 API at https://s3.<region>.qiniucs.com — cn-east-1 is a PLACEHOLDER: CONFIRM the bucket's region (z0 cn-east-1, z1 cn-north-1, z2 cn-south-1, na0 us-north-1, as0 ap-southeast-1) before running`);
  objectStore(c, src, 's3', 'https://s3.cn-east-1.qiniucs.com', { region: 'cn-east-1' });
}

/** A URL list; Ferry reads "prefix key" columns, so a list in another column order is rewritten next to the job. */
function httpSource(c: Conversion): void {
  c.map('srcType', 'source.type');
  c.draft.source.type = 'http';
  const list = c.value('httpListFilePath');
  const p = c.int('httpPrefixColumn', 1) ?? 1;
  const r = c.int('relativePathColumn', 1) ?? 2;
  const listKeys = ['httpListFilePath', 'httpPrefixColumn', 'relativePathColumn'];
  if (!list) c.issues.push('httpListFilePath: empty — the absolute path of the URL list file');
  else if (!/^(\/|[a-zA-Z]:\/)/.test(list)) c.issues.push(`httpListFilePath: ${JSON.stringify(list)} is not an absolute path`);
  else if (p === r) c.issues.push(`httpPrefixColumn, relativePathColumn: both are ${p} — they must name two different columns`);
  else if (p === 1 && r === 2) {
    c.draft.source.list = list;
    c.map(listKeys, 'source.list');
  } else {
    const to = join(c.input.outDir, `${c.draft.name}.list`);
    c.listRewrite = { from: list, to, prefixColumn: p, relativeColumn: r };
    c.draft.source.list = to;
    c.map(listKeys, 'source.list', `httpListFilePath=${list} rewritten as "prefix key" (httpPrefixColumn=${p}, relativePathColumn=${r})`);
    c.note('httpPrefixColumn, relativePathColumn', 'info', `Ferry reads column 1 as the URL prefix and column 2 as the key: ${list} is rewritten to ${to} in that order (line numbers kept)`);
  }
  c.note('srcType', 'info', 'URL = prefix column + key column, destination key = destPrefix + key column, as in ossimport; a prefix without a scheme gets http://');
  explainUnused(c, ['srcDomain', 'srcBucket', 'srcPrefix', 'srcAccessKey', 'srcSecretKey'], 'for srcType=http');
}

/** srcType (case-sensitive, as in ossimport) → how it becomes a Ferry source. */
const SOURCE_TYPES: Record<string, SourceHandler> = {
  local: localSource,
  oss: ossSource,
  s3: s3Source,
  cos: cosSource,
  bos: bosSource,
  ks3: ks3Source,
  qiniu: qiniuSource,
  http: httpSource,
  youpai: (c) => c.issues.push('srcType: youpai (UPYUN) has no Ferry provider — export the file list as URLs (your CDN domain + key, two columns "prefix key") and use srcType=http / source.type: http, or copy through an S3-compatible gateway'),
  azure: (c) => c.issues.push('srcType: azure (Blob Storage) has no Ferry provider — stage the container to S3/OSS first (e.g. AzCopy, rclone) or expose it through an S3-compatible gateway, then use source.type: s3'),
};

/** The source section, from `srcType` and the `src*` keys (plus `appId` and the http list keys). */
export function mapSource(c: Conversion): void {
  const src: SourceKeys = { type: c.value('srcType'), domain: c.value('srcDomain'), bucket: c.value('srcBucket'), prefix: c.value('srcPrefix') };
  if (src.type === undefined) c.issues.push('srcType: empty — one of local, oss, s3, http, cos, bos, ks3, qiniu');
  else if (Object.hasOwn(SOURCE_TYPES, src.type)) SOURCE_TYPES[src.type]!(c, src);
  else c.issues.push(`srcType: ${JSON.stringify(src.type)} is not an ossimport source type Ferry can read (local, oss, s3, http, cos, bos, ks3, qiniu; case-sensitive as in ossimport)`);
  const appId = c.value('appId');
  if (src.type !== 'cos' && appId && appId !== '0') c.note('appId', 'info', `not used for srcType=${src.type}`);
}
