/**
 * `ferry import-ossimport job.cfg [sys.properties]`: converts an Alibaba ossimport 2.3.x configuration into a
 * Ferry job file plus a separate credentials file (mode 0600), following the mapping table of
 * `shared/reference/ossimport.md` §8. Every key is either mapped (and named in a comment next to the Ferry
 * field) or listed with the reason it is not carried. Secrets (`srcAccessKey`, `srcSecretKey`,
 * `destAccessKey`, `destSecretKey`, `workerPassword`) go only to the credentials file: never to the job file,
 * stdout or `--json`.
 *
 * The conversion itself ({@link convertOssimport}) is pure; {@link importOssimport} does the file I/O.
 */
import { closeSync, createReadStream, createWriteStream, existsSync, chmodSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { Document, isPair, isScalar, type YAMLMap } from 'yaml';
import { parseJob, type JobFile } from '../../common/job';
import { InvalidConfigError, errorMessage } from '../../common/errors';
import { formatDuration } from '../../common/units';
import { UsageError } from '../errors';
import { JOB_NAME_RE } from '../job-file';
import type { CliOptions } from '../cli';
import type { Io } from '../io';

/** One parsed `key=value` file (Java-properties style). */
export interface Properties {
  /** Trimmed key → trimmed value, in file order; the last occurrence wins. */
  values: Map<string, string>;
  /** Keys that appeared more than once. */
  duplicates: string[];
}

/**
 * Parses ossimport's `job.cfg` / `sys.properties`: `key=value` (or `key:value`), `#`/`!` comment lines, UTF-8
 * with or without BOM, LF or CRLF. Keys and values are trimmed (shipped templates have trailing spaces) and
 * may contain parentheses (`workerMaxThroughput(KB/s)`). Backslashes are kept literally: ossimport paths use
 * `/`, and a `\` in a path is reported by the converter rather than silently unescaped.
 */
export function parseProperties(text: string): Properties {
  const values = new Map<string, string>();
  const duplicates: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n|\r/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:]?\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    if (values.has(key) && !duplicates.includes(key)) duplicates.push(key);
    values.set(key, m[2]!.trim());
  }
  return { values, duplicates };
}

export type NoteLevel = 'info' | 'warn';

/** A key that was not carried (or carried with a caveat), and why. */
export interface ConversionNote {
  /** The ossimport key (or keys, comma-separated). */
  key: string;
  level: NoteLevel;
  message: string;
}

/** An http list whose columns ossimport reads in another order than Ferry: the command rewrites it. */
export interface ListRewrite {
  from: string;
  to: string;
  /** 1-based ossimport columns: URL prefix and relative key. */
  prefixColumn: number;
  relativeColumn: number;
}

export interface ConvertInput {
  jobCfg: string;
  sysProperties?: string;
  /** File names for comments and messages (basename only). */
  jobCfgName?: string;
  sysPropertiesName?: string;
  /** Overrides `jobName`. */
  name?: string;
  /** Absolute directory the files will be written to (used for a rewritten http list). */
  outDir: string;
}

export interface ConversionResult {
  name: string;
  /** The job file document (what parseJob accepts). No secrets. */
  job: JobFile;
  jobYaml: string;
  /** Profile name → keys. The only place secrets appear. */
  credentials: Record<string, { accessKeyId: string; secretAccessKey: string }>;
  /** YAML text of the credentials file, or undefined when the configuration holds no keys. */
  credentialsYaml: string | undefined;
  /** ossimport key → Ferry field, for every key that was carried. */
  mapped: { key: string; field: string }[];
  notes: ConversionNote[];
  /** Commands to run next. */
  nextSteps: string[];
  listRewrite?: ListRewrite;
}

/** Keys whose values are secrets: never echoed anywhere but the credentials file. */
const SECRET_KEYS = new Set(['srcAccessKey', 'srcSecretKey', 'destAccessKey', 'destSecretKey', 'workerPassword']);

/** ossimport 2.3 job.cfg keys this converter knows (mapped or explained). */
const JOB_KEYS = new Set([
  'jobName', 'jobType', 'isIncremental', 'incrementalModeInterval', 'importSince', 'lastModify', 'srcType', 'srcAccessKey',
  'srcSecretKey', 'srcDomain', 'srcBucket', 'srcPrefix', 'destAccessKey', 'destSecretKey', 'destDomain', 'destBucket',
  'destPrefix', 'taskObjectCountLimit', 'taskObjectSizeLimit', 'scanThreadCount', 'maxMultiThreadScanDepth',
  'isSkipExistFile', 'multipartUploadThreshold', 'multipartUploadPartSize', 'uploadThreadNumPerLargeFile',
  'isServerSideEncryption', 'isAllowSymbolicLink', 'getObjectMetaMode', 'isAuditAfterImport', 'auditMode', 'appId',
  'isDownloadFromCdn', 'cdnDomain', 'httpListFilePath', 'httpPrefixColumn', 'relativePathColumn', 'isAllowSparseFile',
]);

/** sys.properties keys that only configure ossimport's own processes (SSH deployment, JVM, dispatch, scan). */
const SYS_PROCESS_KEYS: Record<string, string> = {
  workingDir: 'ossimport\'s checkpoint directory; Ferry keeps job state in Temporal',
  workerUser: 'SSH deployment of ossimport workers; start `ferry worker` on each machine instead',
  workerUserName: 'SSH deployment of ossimport workers; start `ferry worker` on each machine instead',
  workerPassword: 'SSH deployment of ossimport workers; start `ferry worker` on each machine instead',
  privateKeyFile: 'SSH deployment of ossimport workers; start `ferry worker` on each machine instead',
  sshPort: 'SSH deployment of ossimport workers; start `ferry worker` on each machine instead',
  dispatcherThreadNum: 'ossimport\'s task tracker; Temporal dispatches Ferry\'s tasks',
  javaHeapMaxSize: 'JVM setting; Ferry workers keep memory bounded by design',
};

const NASIMPORT_KEYS = new Set(['destType', 'destMountDir', 'destMountTarget', 'destNeedMount']);

const KiB = 1024;
const MiB = 1024 ** 2;

/** Tencent COS v4 short region codes (ossimport's `srcDomain` for cos) → COS regions. */
const COS_REGIONS: Record<string, string> = {
  gz: 'ap-guangzhou', tj: 'ap-beijing-1', sh: 'ap-shanghai', bj: 'ap-beijing', cd: 'ap-chengdu', cq: 'ap-chongqing',
  hk: 'ap-hongkong', sgp: 'ap-singapore', ca: 'na-toronto', ger: 'eu-frankfurt',
};

/** `150m` / `500k` / `5g` / `1048576` → bytes (k/m/g are 1024-based, as ossimport's docs imply). */
export function parseOssimportSize(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(v.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: KiB, m: MiB, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** Bytes in the most readable exact unit: `157286400` → `150MiB`, `1000000000` → `1GB`, `1234` → `1234`. */
export function exactSize(n: number): string | number {
  for (const [unit, f] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', MiB], ['KiB', KiB]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`;
  for (const [unit, f] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`;
  return n;
}

function cronFor(seconds: number): string | undefined {
  if (seconds % 86_400 === 0 && seconds === 86_400) return '0 0 * * *';
  if (seconds % 3600 === 0 && 24 % (seconds / 3600) === 0) return seconds === 3600 ? '0 * * * *' : `0 */${seconds / 3600} * * *`;
  if (seconds % 60 === 0 && 60 % (seconds / 60) === 0) return `*/${seconds / 60} * * * *`;
  return undefined;
}

/** Adds `http://` to a scheme-less domain (ossimport's templates sometimes omit it). */
function withScheme(domain: string): { url: string; added: boolean } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(domain)) return { url: domain, added: false };
  return { url: `http://${domain}`, added: true };
}

function isUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname;
  } catch {
    return false;
  }
}

/**
 * Converts an ossimport configuration. Pure: no I/O. Throws InvalidConfigError listing every problem at once
 * (as `key: message`, naming the ossimport key, its value when not secret, and the fix).
 */
export function convertOssimport(input: ConvertInput): ConversionResult {
  const cfgName = input.jobCfgName ?? 'job.cfg';
  const sysName = input.sysPropertiesName ?? 'sys.properties';
  const job = parseProperties(input.jobCfg);
  const sys = input.sysProperties !== undefined ? parseProperties(input.sysProperties) : undefined;
  const issues: string[] = [];
  const notes: ConversionNote[] = [];
  const mapped: { key: string; field: string }[] = [];
  const comments = new Map<string, string>();
  const used = new Set<string>();

  /** Notes with the same level and reason are merged into one line naming every key. */
  const note = (key: string, level: NoteLevel, message: string) => {
    const same = notes.find((n) => n.level === level && n.message === message);
    if (same) same.key += `, ${key}`;
    else notes.push({ key, level, message });
  };
  /** Value of a key; empty = unset (ossimport users keep keys with empty values). */
  const get = (key: string): string | undefined => {
    used.add(key);
    const v = job.values.get(key);
    return v === undefined || v === '' ? undefined : v;
  };
  const show = (key: string, v: string | undefined) => (SECRET_KEYS.has(key) ? key : `${key}=${v ?? ''}`);
  const map = (key: string | string[], field: string, comment?: string) => {
    for (const k of Array.isArray(key) ? key : [key]) mapped.push({ key: k, field });
    const c = comment ?? (Array.isArray(key) ? key.map((k) => show(k, job.values.get(k))).join(', ') : show(key, job.values.get(key)));
    comments.set(field, c);
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = get(key);
    if (v === undefined) return dflt;
    if (/^true$/i.test(v)) return true;
    if (/^false$/i.test(v)) return false;
    issues.push(`${key}: ${JSON.stringify(v)} is not true or false`);
    return dflt;
  };
  const int = (key: string, min = 0): number | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) {
      issues.push(`${key}: ${JSON.stringify(v)} is not a whole number${min ? ` ≥ ${min}` : ''}`);
      return undefined;
    }
    return Number(v);
  };
  for (const d of job.duplicates) note(d, 'warn', `appears more than once in ${cfgName}; the last value was used (as ossimport does)`);

  // --- name ---------------------------------------------------------------------------------------------
  const jobName = get('jobName');
  let name = input.name ?? jobName ?? '';
  if (input.name !== undefined) {
    if (!JOB_NAME_RE.test(input.name)) issues.push(`--name: ${JSON.stringify(input.name)} is not a Ferry job name (letters, digits, . _ -, at most 63, starting with a letter or digit)`);
    else {
      mapped.push({ key: 'jobName', field: 'name' });
      comments.set('name', jobName ? `jobName=${jobName} (renamed with --name)` : 'set with --name');
    }
  } else if (!jobName) {
    issues.push('jobName: empty — pass --name NAME (it becomes the workflow id ferry-<name>)');
  } else if (!JOB_NAME_RE.test(jobName)) {
    issues.push(`jobName: ${JSON.stringify(jobName)} is not a Ferry job name (letters, digits, . _ -, at most 63, starting with a letter or digit) — pass --name NAME`);
  } else {
    map('jobName', 'name');
    if (jobName === 'local_test') note('jobName', 'info', 'local_test is the fixed name of ossimport\'s standalone mode; Ferry has no such rule — pass --name to give the job a meaningful name (the workflow id is ferry-<name>)');
  }
  if (!name) name = 'ossimport-job';

  // --- job type, verification -------------------------------------------------------------------------
  const jobType = get('jobType') ?? 'import';
  let mode: 'copy' | 'verify' = 'copy';
  if (jobType === 'audit') {
    mode = 'verify';
    map('jobType', 'mode');
  } else if (jobType === 'import') {
    mapped.push({ key: 'jobType', field: 'mode' });
  } else issues.push(`jobType: ${JSON.stringify(jobType)} is not import or audit`);

  const auditAfter = bool('isAuditAfterImport', true);
  const auditMode = get('auditMode') ?? 'general';
  let verify: 'none' | 'size' | 'checksum' | undefined;
  const auditToVerify: Record<string, 'size' | 'checksum'> = { simple: 'size', general: 'checksum', detailed: 'checksum' };
  if (!(auditMode in auditToVerify)) issues.push(`auditMode: ${JSON.stringify(auditMode)} is not simple, general or detailed`);
  if (mode === 'copy' && !auditAfter) {
    verify = 'none';
    map('isAuditAfterImport', 'verify');
    if (job.values.get('auditMode')) note('auditMode', 'info', 'not used: isAuditAfterImport=false turns verification off');
  } else if (auditToVerify[auditMode]) {
    verify = auditToVerify[auditMode];
    map(mode === 'copy' ? ['isAuditAfterImport', 'auditMode'] : ['auditMode'], 'verify', `auditMode=${auditMode}${job.values.get('auditMode') ? '' : ' (ossimport default)'}`);
    if (auditMode === 'general') note('auditMode', 'info', 'general (size + mtime + headers) becomes verify: checksum — size plus the strongest checksum both sides share, which is stronger');
  }
  if (mode === 'verify' && job.values.get('isAuditAfterImport')) note('isAuditAfterImport', 'info', 'not used by an audit job (jobType=audit always verifies)');

  // --- source -----------------------------------------------------------------------------------------
  const srcType = get('srcType');
  const srcDomain = get('srcDomain');
  const srcBucket = get('srcBucket');
  const srcPrefix = get('srcPrefix');
  const srcAk = get('srcAccessKey');
  const srcSk = get('srcSecretKey');
  const source: Record<string, unknown> = {};
  const credentials: ConversionResult['credentials'] = {};
  const srcProfile = `${name}-src`;
  const dstProfile = `${name}-dst`;
  let listRewrite: ListRewrite | undefined;
  let keysUsed = false;

  const unusedFor = (keys: string[], why: string) => {
    for (const k of keys) if (job.values.get(k)) note(k, 'info', `not used ${why}`);
  };
  const bucketRules = (key: string, v: string | undefined) => {
    if (v && v.includes('/')) issues.push(`${key}: ${JSON.stringify(v)} must be a bucket name without "/" (put a path in ${key === 'srcBucket' ? 'srcPrefix' : 'destPrefix'})`);
  };
  const takeKeys = (akKey: string, skKey: string, ak: string | undefined, sk: string | undefined, profile: string, field: string): boolean => {
    if (!ak && !sk) return false;
    if (!ak || !sk) {
      issues.push(`${ak ? skKey : akKey}: empty while ${ak ? akKey : skKey} is set — give both keys or neither`);
      return false;
    }
    credentials[profile] = { accessKeyId: ak, secretAccessKey: sk };
    mapped.push({ key: akKey, field: `${field} (credentials file)` }, { key: skKey, field: `${field} (credentials file)` });
    return true;
  };
  const objectStore = (type: 's3' | 'oss', endpoint: string | undefined, extra: Record<string, unknown> = {}) => {
    source.type = type;
    if (endpoint) source.endpoint = endpoint;
    Object.assign(source, extra);
    if (srcBucket) source.bucket = srcBucket;
    if (srcPrefix) {
      source.prefix = srcPrefix;
      map('srcPrefix', 'source.prefix');
      if (srcPrefix.startsWith('/') && srcType !== 'cos') note('srcPrefix', 'warn', `${JSON.stringify(srcPrefix)} starts with "/": object keys rarely do, so this prefix probably matches nothing`);
    }
    if (srcBucket) map('srcBucket', 'source.bucket');
    else issues.push(`srcBucket: empty — required for srcType=${srcType}`);
    bucketRules('srcBucket', srcBucket);
    if (takeKeys('srcAccessKey', 'srcSecretKey', srcAk, srcSk, srcProfile, 'source.credentials')) {
      source.credentials = srcProfile;
      comments.set('source.credentials', `srcAccessKey/srcSecretKey → profile ${srcProfile}`);
      keysUsed = true;
    } else if (!srcAk && !srcSk) note('srcAccessKey, srcSecretKey', 'warn', `empty: the source uses the worker's default credentials (${type === 'oss' ? 'OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET' : 'AWS environment/profile'}); name a profile in source.credentials otherwise`);
  };

  switch (srcType) {
    case undefined:
      issues.push('srcType: empty — one of local, oss, s3, http, cos, bos, ks3, qiniu');
      break;
    case 'local': {
      source.type = 'fs';
      map('srcType', 'source.type');
      if (!srcPrefix) issues.push('srcPrefix: empty — for srcType=local it is the absolute source directory ending in "/", e.g. /data/example/');
      else {
        if (srcPrefix.includes('\\')) issues.push(`srcPrefix: ${JSON.stringify(srcPrefix)} uses "\\" — write the directory with "/" (c:/example/), as ossimport requires`);
        if (!/^(\/|[a-zA-Z]:\/)/.test(srcPrefix)) issues.push(`srcPrefix: ${JSON.stringify(srcPrefix)} is not an absolute directory — use e.g. /data/example/ or c:/example/`);
        if (!srcPrefix.endsWith('/')) issues.push(`srcPrefix: ${JSON.stringify(srcPrefix)} must end with "/" (ossimport rejects it otherwise; a single file cannot be named)`);
        if (srcPrefix.includes('//')) issues.push(`srcPrefix: ${JSON.stringify(srcPrefix)} contains "//"`);
        source.path = srcPrefix;
        map('srcPrefix', 'source.path');
      }
      unusedFor(['srcDomain', 'srcBucket', 'srcAccessKey', 'srcSecretKey'], 'for srcType=local');
      break;
    }
    case 'oss': {
      map('srcType', 'source.type');
      let endpoint: string | undefined;
      if (!srcDomain) issues.push('srcDomain: empty — the OSS endpoint without the bucket, e.g. http://oss-cn-hangzhou.aliyuncs.com');
      else {
        const { url, added } = withScheme(srcDomain);
        if (!isUrl(url)) issues.push(`srcDomain: ${JSON.stringify(srcDomain)} is not an endpoint URL, e.g. http://oss-cn-hangzhou.aliyuncs.com`);
        else {
          endpoint = url;
          map('srcDomain', 'source.endpoint');
          if (added) note('srcDomain', 'info', `has no scheme; using ${url}`);
          if (/-internal\./.test(url)) note('srcDomain', 'warn', `${srcDomain} is an -internal endpoint: it works only from an ECS instance in the same region; use the public endpoint elsewhere`);
          if (srcBucket && new URL(url).hostname.startsWith(`${srcBucket}.`)) issues.push(`srcDomain: ${JSON.stringify(srcDomain)} contains the bucket name — give the region endpoint only (e.g. http://oss-cn-hangzhou.aliyuncs.com)`);
        }
      }
      objectStore('oss', endpoint);
      break;
    }
    case 's3': {
      map('srcType', 'source.type');
      let endpoint: string | undefined;
      const extra: Record<string, unknown> = {};
      if (!srcDomain) note('srcDomain', 'warn', 'empty: using AWS S3 in us-east-1; set source.region (or source.endpoint for an S3-compatible store)');
      else {
        const { url } = withScheme(srcDomain);
        if (!isUrl(url)) issues.push(`srcDomain: ${JSON.stringify(srcDomain)} is not an endpoint URL, e.g. http://s3.us-east-1.amazonaws.com`);
        else {
          const host = new URL(url).hostname;
          const aws = /^(?:[^.]+\.)?s3[.-](?:dualstack\.)?([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(host);
          if (aws) {
            extra.region = aws[1];
            map('srcDomain', 'source.region', `srcDomain=${srcDomain} (AWS: the SDK picks the endpoint for the region)`);
          } else if (/^(?:[^.]+\.)?s3(?:-external-1)?\.amazonaws\.com$/.test(host)) {
            extra.region = 'us-east-1';
            map('srcDomain', 'source.region', `srcDomain=${srcDomain} (AWS global endpoint = us-east-1)`);
          } else {
            endpoint = url;
            map('srcDomain', 'source.endpoint');
            note('srcDomain', 'info', 'not an AWS endpoint: treated as an S3-compatible store (path-style addressing); set source.region if the store needs one');
          }
        }
      }
      objectStore('s3', endpoint, extra);
      break;
    }
    case 'cos': {
      map('srcType', 'source.type', 'srcType=cos (Tencent COS through its S3-compatible API)');
      const appId = get('appId');
      let region = srcDomain ? (COS_REGIONS[srcDomain] ?? (/^[a-z]{2}-[a-z]+(?:-\d)?$/.test(srcDomain) ? srcDomain : undefined)) : undefined;
      if (!srcDomain) {
        region = 'ap-guangzhou';
        note('srcDomain', 'warn', 'empty (COS v3): the region is unknown — ap-guangzhou is a placeholder; CONFIRM source.endpoint (https://cos.<region>.myqcloud.com) before running');
      } else if (!region) {
        issues.push(`srcDomain: ${JSON.stringify(srcDomain)} is not a COS region (gz, tj, sh, … or ap-guangzhou, ap-beijing, …)`);
      } else {
        map('srcDomain', 'source.region', `srcDomain=${srcDomain}`);
        note('srcType, srcDomain', 'warn', `CONFIRM source.endpoint https://cos.${region}.myqcloud.com: Ferry reads COS through its S3-compatible API, not the endpoint ossimport used`);
      }
      const bucket = srcBucket && appId && appId !== '0' && !srcBucket.endsWith(`-${appId}`) ? `${srcBucket}-${appId}` : srcBucket;
      if (appId && appId !== '0') mapped.push({ key: 'appId', field: 'source.bucket' });
      else if (srcBucket && !/-\d+$/.test(srcBucket)) note('appId', 'warn', `empty: COS's S3 API names buckets <bucket>-<appId>; CONFIRM source.bucket ${JSON.stringify(srcBucket)}`);
      const prefix = srcPrefix?.replace(/^\/+/, '');
      objectStore('s3', `https://cos.${region ?? 'ap-guangzhou'}.myqcloud.com`, { region: region ?? 'ap-guangzhou' });
      if (bucket) source.bucket = bucket;
      if (bucket !== srcBucket) comments.set('source.bucket', `srcBucket=${srcBucket}, appId=${appId} (COS S3 bucket name)`);
      if (srcPrefix !== undefined) {
        if (prefix) source.prefix = prefix;
        else delete source.prefix;
        if (prefix !== srcPrefix) comments.set('source.prefix', `srcPrefix=${srcPrefix} (leading "/" dropped for the S3 API)`);
      }
      break;
    }
    case 'bos': {
      map('srcType', 'source.type', 'srcType=bos (Baidu BOS through its S3-compatible API)');
      let endpoint: string | undefined;
      let region: string | undefined;
      if (!srcDomain) issues.push('srcDomain: empty — the BOS endpoint, e.g. http://bj.bcebos.com');
      else {
        const { url } = withScheme(srcDomain);
        const m = isUrl(url) ? /^(?:s3\.)?([a-z0-9-]+)\.bcebos\.com$/.exec(new URL(url).hostname) : null;
        if (!m) issues.push(`srcDomain: ${JSON.stringify(srcDomain)} is not a BOS endpoint like http://bj.bcebos.com`);
        else {
          region = m[1];
          endpoint = `https://s3.${region}.bcebos.com`;
          map('srcDomain', 'source.endpoint', `srcDomain=${srcDomain}`);
          note('srcType, srcDomain', 'warn', `CONFIRM source.endpoint ${endpoint}: Ferry reads BOS through its S3-compatible API, not the endpoint ossimport used`);
        }
      }
      objectStore('s3', endpoint, region ? { region } : {});
      break;
    }
    case 'ks3': {
      map('srcType', 'source.type', 'srcType=ks3 (Kingsoft KS3 through its S3-compatible API)');
      let endpoint: string | undefined;
      if (!srcDomain) issues.push('srcDomain: empty — the KS3 endpoint, e.g. http://ks3-cn-beijing.ksyun.com');
      else {
        const { url } = withScheme(srcDomain);
        if (!isUrl(url)) issues.push(`srcDomain: ${JSON.stringify(srcDomain)} is not an endpoint URL, e.g. http://ks3-cn-beijing.ksyun.com`);
        else {
          endpoint = url;
          map('srcDomain', 'source.endpoint');
          note('srcType, srcDomain', 'warn', `CONFIRM source.endpoint ${url}: Ferry reads KS3 through its S3-compatible API; use the region endpoint (e.g. ks3-cn-beijing.ksyuncs.com) if this one refuses S3 requests`);
        }
      }
      objectStore('s3', endpoint);
      break;
    }
    case 'qiniu': {
      map('srcType', 'source.type', 'srcType=qiniu (Qiniu Kodo through its S3-compatible API)');
      // srcDomain is the bucket's download domain; the S3 endpoint depends on the bucket's region, which it does not tell.
      if (!srcDomain) issues.push('srcDomain: empty — the bucket\'s domain from the Qiniu console');
      else note('srcDomain', 'warn', `${srcDomain} is a download domain; Ferry reads Qiniu through its S3 API at https://s3.<region>.qiniucs.com — cn-east-1 is a PLACEHOLDER: CONFIRM the bucket's region (z0 cn-east-1, z1 cn-north-1, z2 cn-south-1, na0 us-north-1, as0 ap-southeast-1) before running`);
      objectStore('s3', 'https://s3.cn-east-1.qiniucs.com', { region: 'cn-east-1' });
      break;
    }
    case 'http': {
      map('srcType', 'source.type');
      source.type = 'http';
      const list = get('httpListFilePath');
      const p = int('httpPrefixColumn', 1) ?? 1;
      const r = int('relativePathColumn', 1) ?? 2;
      if (!list) issues.push('httpListFilePath: empty — the absolute path of the URL list file');
      else if (!/^(\/|[a-zA-Z]:\/)/.test(list)) issues.push(`httpListFilePath: ${JSON.stringify(list)} is not an absolute path`);
      else if (p === r) issues.push(`httpPrefixColumn, relativePathColumn: both are ${p} — they must name two different columns`);
      else if (p === 1 && r === 2) {
        source.list = list;
        map(['httpListFilePath', 'httpPrefixColumn', 'relativePathColumn'], 'source.list');
      } else {
        const to = join(input.outDir, `${name}.list`);
        listRewrite = { from: list, to, prefixColumn: p, relativeColumn: r };
        source.list = to;
        map(['httpListFilePath', 'httpPrefixColumn', 'relativePathColumn'], 'source.list', `httpListFilePath=${list} rewritten as "prefix key" (httpPrefixColumn=${p}, relativePathColumn=${r})`);
        note('httpPrefixColumn, relativePathColumn', 'info', `Ferry reads column 1 as the URL prefix and column 2 as the key: ${list} is rewritten to ${to} in that order (line numbers kept)`);
      }
      note('srcType', 'info', 'URL = prefix column + key column, destination key = destPrefix + key column, as in ossimport; a prefix without a scheme gets http://');
      unusedFor(['srcDomain', 'srcBucket', 'srcPrefix', 'srcAccessKey', 'srcSecretKey'], 'for srcType=http');
      break;
    }
    case 'youpai':
      issues.push('srcType: youpai (UPYUN) has no Ferry provider — export the file list as URLs (your CDN domain + key, two columns "prefix key") and use srcType=http / source.type: http, or copy through an S3-compatible gateway');
      break;
    case 'azure':
      issues.push('srcType: azure (Blob Storage) has no Ferry provider — stage the container to S3/OSS first (e.g. AzCopy, rclone) or expose it through an S3-compatible gateway, then use source.type: s3');
      break;
    default:
      issues.push(`srcType: ${JSON.stringify(srcType)} is not an ossimport source type Ferry can read (local, oss, s3, http, cos, bos, ks3, qiniu; case-sensitive as in ossimport)`);
  }
  // ossimport's templates ship an http list path for every source type: only meaningful for srcType=http.
  if (srcType !== 'http') for (const k of ['httpListFilePath', 'httpPrefixColumn', 'relativePathColumn']) used.add(k);
  if (srcType !== 'cos' && job.values.get('appId') && job.values.get('appId') !== '0') note('appId', 'info', `not used for srcType=${srcType}`);
  used.add('appId');

  // --- destination (ossimport always writes to OSS) -----------------------------------------------------
  const destDomain = get('destDomain');
  const destBucket = get('destBucket');
  const destPrefix = get('destPrefix');
  const destination: Record<string, unknown> = { type: 'oss' };
  if (!destDomain) issues.push('destDomain: empty — the OSS endpoint without the bucket, e.g. http://oss-cn-hangzhou.aliyuncs.com');
  else {
    const { url, added } = withScheme(destDomain);
    if (!isUrl(url)) issues.push(`destDomain: ${JSON.stringify(destDomain)} is not an endpoint URL, e.g. http://oss-cn-hangzhou.aliyuncs.com`);
    else {
      destination.endpoint = url;
      map('destDomain', 'destination.endpoint');
      if (added) note('destDomain', 'info', `has no scheme; using ${url}`);
      if (/-internal\./.test(url)) note('destDomain', 'warn', `${destDomain} is an -internal endpoint: it works only from an ECS instance in the same region; use the public endpoint (without -internal) elsewhere`);
      if (destBucket && new URL(url).hostname.startsWith(`${destBucket}.`)) issues.push(`destDomain: ${JSON.stringify(destDomain)} contains the bucket name (ossimport fails with InvalidBucketName) — give the region endpoint only`);
    }
  }
  if (!destBucket) issues.push('destBucket: empty — the OSS bucket to copy into');
  else {
    destination.bucket = destBucket;
    map('destBucket', 'destination.bucket');
  }
  bucketRules('destBucket', destBucket);
  if (destPrefix) {
    if (destPrefix.startsWith('/')) issues.push(`destPrefix: ${JSON.stringify(destPrefix)} must not start with "/" (OSS keys cannot)`);
    destination.prefix = destPrefix;
    map('destPrefix', 'destination.prefix');
    if (!destPrefix.endsWith('/')) note('destPrefix', 'warn', `${JSON.stringify(destPrefix)} does not end with "/": keys become ${destPrefix}<key> (ossimport requires a trailing "/")`);
  }
  if (takeKeys('destAccessKey', 'destSecretKey', get('destAccessKey'), get('destSecretKey'), dstProfile, 'destination.credentials')) {
    destination.credentials = dstProfile;
    comments.set('destination.credentials', `destAccessKey/destSecretKey → profile ${dstProfile}`);
    keysUsed = true;
  } else if (!job.values.get('destAccessKey') && !job.values.get('destSecretKey')) {
    note('destAccessKey, destSecretKey', 'warn', 'empty: the destination uses the worker\'s default OSS credentials (OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET); name a profile in destination.credentials otherwise');
  }

  // --- filter, overwrite ------------------------------------------------------------------------------
  const filter: Record<string, unknown> = {};
  const since = int('importSince');
  if (since) {
    filter.modifiedSince = new Date(since * 1000).toISOString().replace('.000Z', 'Z');
    map('importSince', 'filter.modifiedSince');
  } else if (since === 0) mapped.push({ key: 'importSince', field: 'filter.modifiedSince' });
  const lastModify = int('lastModify');
  if (lastModify) note('lastModify', 'warn', `lastModify=${lastModify} (skip verifying files changed after it) is not carried: Ferry verifies every object of the job`);

  let overwrite: 'if-different' | 'always' | undefined;
  const skipExisting = bool('isSkipExistFile', false);
  if (mode === 'copy') {
    overwrite = skipExisting ? 'if-different' : 'always';
    map('isSkipExistFile', 'overwrite', job.values.get('isSkipExistFile') ? undefined : 'isSkipExistFile unset (ossimport default false)');
    if (skipExisting) note('isSkipExistFile', 'info', 'true becomes overwrite: if-different — Ferry compares size and checksums (not mtime), so an existing object with equal content is skipped');
  } else if (job.values.get('isSkipExistFile')) note('isSkipExistFile', 'info', 'not used by an audit job');

  // --- tasks, multipart, concurrency, throttle --------------------------------------------------------
  const tasks: Record<string, unknown> = {};
  const maxObjects = int('taskObjectCountLimit', 1);
  if (maxObjects !== undefined) {
    if (maxObjects > 1_000_000) issues.push(`taskObjectCountLimit: ${maxObjects} exceeds Ferry's maximum of 1000000 objects per task`);
    tasks.maxObjects = maxObjects;
    map('taskObjectCountLimit', 'tasks.maxObjects');
  }
  const maxBytes = int('taskObjectSizeLimit', 1);
  if (maxBytes !== undefined) {
    tasks.maxBytes = exactSize(maxBytes);
    map('taskObjectSizeLimit', 'tasks.maxBytes');
  }

  const multipart: Record<string, unknown> = {};
  const thresholdRaw = get('multipartUploadThreshold');
  const partRaw = get('multipartUploadPartSize');
  let threshold = thresholdRaw !== undefined ? parseOssimportSize(thresholdRaw) : undefined;
  let partSize = partRaw !== undefined ? parseOssimportSize(partRaw) : undefined;
  if (thresholdRaw !== undefined && threshold === undefined) issues.push(`multipartUploadThreshold: ${JSON.stringify(thresholdRaw)} is not a size (use e.g. 150m, 5g)`);
  if (partRaw !== undefined && partSize === undefined) issues.push(`multipartUploadPartSize: ${JSON.stringify(partRaw)} is not a size (use e.g. 50m, 500k)`);
  if (partSize !== undefined && partSize <= 100 * KiB) {
    note('multipartUploadPartSize', 'warn', `${partRaw} is not above 100k, which ossimport ignores in favour of its 50m default; using 50MiB`);
    partSize = 50 * MiB;
  }
  if (threshold !== undefined && threshold < 5 * MiB) {
    note('multipartUploadThreshold', 'warn', `${thresholdRaw} is below Ferry's minimum multipart threshold; using 5MiB (smaller objects are uploaded in one request)`);
    threshold = 5 * MiB;
  }
  if (threshold !== undefined && partSize !== undefined && partSize > threshold) {
    note('multipartUploadPartSize', 'warn', `the part size (${exactSize(partSize)}) is larger than the multipart threshold (${exactSize(threshold)}); using ${exactSize(threshold)} for both`);
    partSize = threshold;
  }
  if (threshold !== undefined) {
    multipart.threshold = exactSize(threshold);
    map('multipartUploadThreshold', 'multipart.threshold');
  }
  if (partSize !== undefined) {
    multipart.partSize = exactSize(partSize);
    map('multipartUploadPartSize', 'multipart.partSize');
  }

  const concurrency: Record<string, unknown> = {};
  const throttle: Record<string, unknown> = {};
  if (sys) {
    const sget = (key: string) => {
      const v = sys.values.get(key);
      return v === undefined || v === '' ? undefined : v;
    };
    for (const d of sys.duplicates) note(d, 'warn', `appears more than once in ${sysName}; the last value was used`);
    const threads = sget('workerTaskThreadNum');
    if (threads !== undefined) {
      const n = /^\d+$/.test(threads) ? Number(threads) : NaN;
      if (!(n >= 1)) issues.push(`workerTaskThreadNum: ${JSON.stringify(threads)} is not a whole number ≥ 1`);
      else {
        concurrency.objects = Math.min(n, 1024);
        map('workerTaskThreadNum', 'concurrency.objects', `workerTaskThreadNum=${threads} (${sysName})`);
        note('workerTaskThreadNum', 'info', `ossimport's threads are per worker; Ferry's concurrency.objects is per task, with concurrency.tasks tasks in flight${n > 1024 ? ' (capped at 1024)' : ''}`);
      }
    }
    const tpKey = [...sys.values.keys()].find((k) => /^workerMaxThroughput/.test(k));
    const tp = tpKey ? sget(tpKey) : undefined;
    if (tpKey && tp !== undefined) {
      const n = /^\d+$/.test(tp) ? Number(tp) : NaN;
      if (Number.isNaN(n)) issues.push(`${tpKey}: ${JSON.stringify(tp)} is not a whole number of KB/s`);
      else if (n === 0 || n >= 100_000_000) mapped.push({ key: tpKey, field: 'throttle.bandwidth' });
      else {
        const bytes = n * KiB;
        const ex = exactSize(bytes);
        throttle.bandwidth = typeof ex === 'string' ? `${ex}/s` : bytes;
        map(tpKey, 'throttle.bandwidth', `${tpKey}=${tp} (${sysName})`);
        note(tpKey, 'warn', 'ossimport\'s limit was per worker; Ferry\'s throttle.bandwidth is for the whole job — multiply by the number of workers you had (change it live with `ferry throttle`)');
      }
    }
    if (sget('workerRecordMd5') === 'true') note('workerRecordMd5', 'info', 'built in: Ferry stores the whole-object checksum in the destination metadata of multipart uploads');
    if (sget('workerAbortWhenUncatchedException') === 'true') note('workerAbortWhenUncatchedException', 'info', 'not carried: Ferry never aborts a job for one object; failures are retried, then listed in the report');
    for (const [k, v] of sys.values) {
      if (k === 'workerTaskThreadNum' || k === tpKey || k === 'workerRecordMd5' || k === 'workerAbortWhenUncatchedException') continue;
      const why = SYS_PROCESS_KEYS[k];
      if (why) {
        if (v !== '' && !(k === 'workingDir' && v === '.')) note(k, 'info', `not needed: ${why}`);
      } else note(k, 'warn', `unknown ${sysName} key, ignored`);
    }
  }

  // --- settings that are not carried ------------------------------------------------------------------
  const incremental = bool('isIncremental', false);
  const interval = int('incrementalModeInterval') ?? 86_400;
  const nextSteps: string[] = [];
  if (incremental) {
    if (interval < 900) note('incrementalModeInterval', 'warn', `${interval} s is below ossimport's minimum of 900 s`);
    const cron = cronFor(interval);
    note('isIncremental, incrementalModeInterval', 'warn', `continuous incremental mode becomes \`ferry schedule ${name}.yaml --every ${formatDuration(interval * 1000)}\`${cron ? ` (cron: ${cron})` : ''}, a Temporal Schedule of incremental rounds run by \`ferry worker\`s; each round copies what changed since the previous round started`);
  } else if (job.values.get('incrementalModeInterval')) used.add('incrementalModeInterval');
  for (const k of ['scanThreadCount', 'maxMultiThreadScanDepth']) if (get(k) !== undefined) note(k, 'info', 'not needed: Ferry lists in key order and splits the listing into tasks as it goes');
  if (get('uploadThreadNumPerLargeFile') !== undefined) note('uploadThreadNumPerLargeFile', 'info', 'not needed: Ferry uploads the parts of large objects in parallel within concurrency.objects');
  if (bool('isServerSideEncryption', false)) note('isServerSideEncryption', 'warn', 'true is not carried: Ferry does not request server-side encryption per object — enable default encryption on the destination bucket instead');
  if (bool('isAllowSymbolicLink', false)) note('isAllowSymbolicLink', 'warn', 'true is not carried: the fs provider copies regular files only, never symbolic links');
  const metaMode = get('getObjectMetaMode');
  if (metaMode !== undefined && srcType === 'qiniu' && metaMode !== 'stat') note('getObjectMetaMode', 'info', `${metaMode} is not carried: Ferry reads metadata through the S3 API`);
  if (bool('isDownloadFromCdn', false) || get('cdnDomain')) note('isDownloadFromCdn, cdnDomain', 'warn', 'not carried: UPYUN/CDN downloads — list the CDN URLs in an http list instead');
  if (get('isAllowSparseFile') !== undefined) note('isAllowSparseFile', 'info', 'not carried: sparse files are read as regular files');
  for (const [k] of job.values) {
    if (used.has(k) || JOB_KEYS.has(k)) continue;
    if (NASIMPORT_KEYS.has(k)) note(k, 'warn', 'belongs to nasimport (ossimport always writes to OSS); ignored');
    else note(k, 'warn', `unknown ${cfgName} key, ignored`);
  }

  // --- assemble ---------------------------------------------------------------------------------------
  const doc: Record<string, unknown> = { name };
  if (mode === 'verify') doc.mode = 'verify';
  doc.source = source;
  doc.destination = destination;
  if (Object.keys(filter).length) doc.filter = filter;
  if (overwrite) doc.overwrite = overwrite;
  if (verify) doc.verify = verify;
  if (Object.keys(tasks).length) doc.tasks = tasks;
  if (Object.keys(concurrency).length) doc.concurrency = concurrency;
  if (Object.keys(multipart).length) doc.multipart = multipart;
  if (Object.keys(throttle).length) doc.throttle = throttle;

  if (!issues.length) {
    try {
      parseJob(doc);
    } catch (e) {
      if (e instanceof InvalidConfigError) issues.push(...e.issues.map((i) => `(converted job) ${i}`));
      else throw e;
    }
  }
  if (issues.length) throw new InvalidConfigError(issues, `cannot convert ${cfgName}${sys ? ` + ${sysName}` : ''}:\n  ${issues.join('\n  ')}`);

  const jobFile = `${name}.yaml`;
  const credFile = `${name}.credentials.yaml`;
  const credFlag = keysUsed ? ` --credentials ${credFile}` : '';
  if (mode === 'verify') nextSteps.push(`ferry verify ${jobFile}${credFlag}`);
  else {
    nextSteps.push(`ferry plan ${jobFile}${credFlag}`, `ferry run ${jobFile}${credFlag}`);
    if (incremental) nextSteps.push(`ferry schedule ${jobFile} --every ${formatDuration(interval * 1000)}   # then run \`ferry worker${credFlag}\``);
  }

  const header = [
    ` Ferry job converted by \`ferry import-ossimport\` from ${[cfgName, sys ? sysName : undefined].filter(Boolean).join(' + ')}.`,
    ` Comments name the ossimport setting each field came from. Secrets are not here: ${keysUsed ? `they are in ${credFile}` : 'the job uses the worker\'s default credentials'}.`,
    ` Next: ${nextSteps[0]}`,
  ].join('\n');
  return {
    name,
    job: doc as JobFile,
    jobYaml: renderJobYaml(doc, comments, header),
    credentials,
    credentialsYaml: keysUsed ? renderCredentialsYaml(credentials, cfgName, jobFile, credFile) : undefined,
    mapped,
    notes,
    nextSteps,
    listRewrite,
  };
}

function renderJobYaml(doc: Record<string, unknown>, comments: Map<string, string>, header: string): string {
  const d = new Document(doc);
  d.commentBefore = header;
  for (const [path, comment] of comments) {
    const parts = path.split('.');
    const parent = parts.length > 1 ? (d.getIn(parts.slice(0, -1), true) as YAMLMap | undefined) : (d.contents as YAMLMap);
    const pair = parent?.items?.find((p) => isPair(p) && isScalar(p.key) && p.key.value === parts[parts.length - 1]);
    if (pair && isPair(pair) && isScalar(pair.value)) pair.value.comment = ` ${comment}`;
  }
  return d.toString({ lineWidth: 0 });
}

function renderCredentialsYaml(creds: ConversionResult['credentials'], cfgName: string, jobFile: string, credFile: string): string {
  const d = new Document(creds);
  d.commentBefore = ` Ferry credentials converted from ossimport ${cfgName}. Keep this file private (mode 0600); never commit it.\n Used by: ferry run ${jobFile} --credentials ${credFile}  (or FERRY_CREDENTIALS_FILE on every worker)`;
  return d.toString({ lineWidth: 0 });
}

/** Text of the conversion report printed by the command (no secrets). */
export function renderConversion(res: ConversionResult, files: { job: string; credentials?: string; list?: string }): string {
  const lines: string[] = [];
  lines.push(`Wrote ${files.job} (job "${res.name}")`);
  if (files.credentials) lines.push(`Wrote ${files.credentials} (credentials, mode 0600: profiles ${Object.keys(res.credentials).join(', ')})`);
  if (files.list) lines.push(`Wrote ${files.list} (URL list in Ferry's column order)`);
  lines.push(`Mapped ${new Set(res.mapped.map((m) => m.key)).size} ossimport keys.`);
  if (res.notes.length) {
    lines.push('Not carried or needing attention:');
    const order = (l: NoteLevel) => (l === 'warn' ? 0 : 1);
    for (const n of [...res.notes].sort((a, b) => order(a.level) - order(b.level))) lines.push(`  ${n.level.padEnd(4)}  ${n.key}: ${n.message}`);
  }
  lines.push('Next:');
  for (const s of res.nextSteps) lines.push(`  ${s}`);
  return lines.join('\n');
}

export interface ImportOptions {
  jobCfg: string;
  sysProperties?: string;
  name?: string;
  outDir?: string;
  force?: boolean;
}

export interface ImportResult {
  conversion: ConversionResult;
  files: { job: string; credentials?: string; list?: string };
}

function readConfig(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${errorMessage(e)}`, 'import-ossimport');
  }
}

/** Writes a file that must not be readable by others, also when it already existed. */
function writePrivate(path: string, text: string): void {
  if (existsSync(path)) chmodSync(path, 0o600);
  const fd = openSync(path, 'w', 0o600);
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

/** Rewrites an ossimport http list into Ferry's "prefix key" column order, keeping line numbers. */
async function rewriteList(r: ListRewrite): Promise<void> {
  const input = createReadStream(r.from, { encoding: 'utf8' });
  const out = createWriteStream(r.to, { encoding: 'utf8' });
  try {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      const t = line.trim();
      let outLine = line;
      if (t && !t.startsWith('#')) {
        const cols = t.split(/\s+/);
        const p = cols[r.prefixColumn - 1];
        const k = cols[r.relativeColumn - 1];
        // A line without both columns is copied as is: Ferry reports it as a failure with its line number.
        if (p !== undefined && k !== undefined) outLine = `${p}\t${k}`;
      }
      if (!out.write(`${outLine}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
}

/** The command: reads the files, converts, refuses to overwrite without `force`, writes job + credentials. */
export async function importOssimport(opts: ImportOptions): Promise<ImportResult> {
  const outDir = resolve(opts.outDir ?? '.');
  const conversion = convertOssimport({
    jobCfg: readConfig(opts.jobCfg, 'ossimport job config'),
    jobCfgName: basename(opts.jobCfg),
    sysProperties: opts.sysProperties ? readConfig(opts.sysProperties, 'ossimport sys.properties') : undefined,
    sysPropertiesName: opts.sysProperties ? basename(opts.sysProperties) : undefined,
    name: opts.name,
    outDir,
  });
  const files: ImportResult['files'] = { job: join(outDir, `${conversion.name}.yaml`) };
  if (conversion.credentialsYaml) files.credentials = join(outDir, `${conversion.name}.credentials.yaml`);
  if (conversion.listRewrite) files.list = conversion.listRewrite.to;
  if (!existsSync(outDir)) throw new UsageError(`output directory ${outDir} does not exist (--out)`, 'import-ossimport');
  if (!opts.force) {
    const existing = Object.values(files).filter((f): f is string => !!f && existsSync(f));
    if (existing.length) throw new UsageError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: pass --force to overwrite, --out DIR or --name NAME`, 'import-ossimport');
  }
  if (conversion.listRewrite) {
    try {
      await rewriteList(conversion.listRewrite);
    } catch (e) {
      throw new InvalidConfigError([
        `httpListFilePath: cannot read ${conversion.listRewrite.from} to put its columns in Ferry's order (${errorMessage(e)}) — run the import where the list is readable, or reorder it to "prefix key" and set httpPrefixColumn=1, relativePathColumn=2`,
      ]);
    }
  }
  writeFileSync(files.job, conversion.jobYaml);
  if (files.credentials && conversion.credentialsYaml) writePrivate(files.credentials, conversion.credentialsYaml);
  return { conversion, files };
}

/** The `ferry import-ossimport` command. */
export async function importOssimportCommand(opts: CliOptions, io: Io): Promise<number> {
  const res = await importOssimport({ jobCfg: opts.jobCfg!, sysProperties: opts.sysProperties, name: opts.name, outDir: opts.out, force: opts.force });
  const c = res.conversion;
  if (opts.json) {
    // Everything but the secrets: profile names only.
    io.out(JSON.stringify({ name: c.name, files: res.files, profiles: Object.keys(c.credentials), job: c.job, mapped: c.mapped, notes: c.notes, nextSteps: c.nextSteps }, null, 2));
  } else io.out(renderConversion(c, res.files));
  return 0;
}
