/**
 * The mapping from ossimport settings to a Ferry job, as tables in the order the README's mapping table (and
 * `shared/reference/ossimport.md` §8) lists them: each row names the keys it reads, the Ferry field they
 * become, and the handler that carries them or says why not. {@link applyMapping} runs the tables.
 */
import { formatDuration } from '../../common/units';
import { JOB_NAME_RE } from '../job-file';
import type { Conversion, NoteLevel } from './conversion';
import { valueOf, type Properties } from './properties';
import { checkBucketName, mapSource, ossEndpoint } from './sources';
import { KiB, MiB, cronFor, exactSize, parseOssimportSize } from './values';

/** A row of the mapping: the job.cfg keys it reads, the Ferry field they become, and how. */
interface MappingRow {
  keys: readonly string[];
  target: string;
  apply: (c: Conversion) => void;
}

/** A sys.properties row; `find` names the file's key when it is matched loosely (default: `key` itself). */
interface SysMappingRow {
  key: string;
  target: string;
  find?: (sys: Properties) => string | undefined;
  apply: (c: Conversion, sys: Properties, key: string) => void;
}

const NAME_RULE = 'letters, digits, . _ -, at most 63, starting with a letter or digit';

function mapJobName(c: Conversion): void {
  const jobName = c.value('jobName');
  const given = c.input.name;
  c.draft.name = given ?? jobName ?? '';
  if (given !== undefined) {
    if (!JOB_NAME_RE.test(given)) c.issues.push(`--name: ${JSON.stringify(given)} is not a Ferry job name (${NAME_RULE})`);
    else {
      c.recordMapped('jobName', 'name');
      c.comments.set('name', jobName ? `jobName=${jobName} (renamed with --name)` : 'set with --name');
    }
  } else if (!jobName) {
    c.issues.push('jobName: empty — pass --name NAME (it becomes the workflow id ferry-<name>)');
  } else if (!JOB_NAME_RE.test(jobName)) {
    c.issues.push(`jobName: ${JSON.stringify(jobName)} is not a Ferry job name (${NAME_RULE}) — pass --name NAME`);
  } else {
    c.map('jobName', 'name');
    if (jobName === 'local_test') c.note('jobName', 'info', 'local_test is the fixed name of ossimport\'s standalone mode; Ferry has no such rule — pass --name to give the job a meaningful name (the workflow id is ferry-<name>)');
  }
  // A placeholder keeps the rest of the conversion (profile names, file names) going so every issue is reported.
  if (!c.draft.name) c.draft.name = 'ossimport-job';
}

function mapJobType(c: Conversion): void {
  const jobType = c.value('jobType') ?? 'import';
  if (jobType === 'audit') {
    c.draft.mode = 'verify';
    c.map('jobType', 'mode');
  } else if (jobType === 'import') c.recordMapped('jobType', 'mode');
  else c.issues.push(`jobType: ${JSON.stringify(jobType)} is not import or audit`);
}

/** ossimport's audit modes → Ferry's verify levels. */
const AUDIT_TO_VERIFY: Record<string, 'size' | 'checksum'> = { simple: 'size', general: 'checksum', detailed: 'checksum' };

function mapVerify(c: Conversion): void {
  const copying = c.draft.mode === 'copy';
  const auditAfter = c.bool('isAuditAfterImport', true);
  const auditMode = c.value('auditMode') ?? 'general';
  if (!Object.hasOwn(AUDIT_TO_VERIFY, auditMode)) c.issues.push(`auditMode: ${JSON.stringify(auditMode)} is not simple, general or detailed`);
  if (copying && !auditAfter) {
    c.draft.verify = 'none';
    c.map('isAuditAfterImport', 'verify');
    if (c.value('auditMode')) c.note('auditMode', 'info', 'not used: isAuditAfterImport=false turns verification off');
  } else if (Object.hasOwn(AUDIT_TO_VERIFY, auditMode)) {
    c.draft.verify = AUDIT_TO_VERIFY[auditMode];
    c.map(copying ? ['isAuditAfterImport', 'auditMode'] : ['auditMode'], 'verify', `auditMode=${auditMode}${c.value('auditMode') ? '' : ' (ossimport default)'}`);
    if (auditMode === 'general') c.note('auditMode', 'info', 'general (size + mtime + headers) becomes verify: checksum — size plus the strongest checksum both sides share, which is stronger');
  }
  if (!copying && c.value('isAuditAfterImport')) c.note('isAuditAfterImport', 'info', 'not used by an audit job (jobType=audit always verifies)');
}

/** ossimport always writes to OSS. */
function mapDestination(c: Conversion): void {
  const destination = c.draft.destination;
  const bucket = c.value('destBucket');
  const prefix = c.value('destPrefix');
  destination.type = 'oss';
  const endpoint = ossEndpoint(c, 'destDomain', c.value('destDomain'), bucket);
  if (endpoint) destination.endpoint = endpoint;
  if (!bucket) c.issues.push('destBucket: empty — the OSS bucket to copy into');
  else {
    destination.bucket = bucket;
    c.map('destBucket', 'destination.bucket');
  }
  checkBucketName(c, 'destBucket', bucket);
  if (prefix) {
    if (prefix.startsWith('/')) c.issues.push(`destPrefix: ${JSON.stringify(prefix)} must not start with "/" (OSS keys cannot)`);
    destination.prefix = prefix;
    c.map('destPrefix', 'destination.prefix');
    if (!prefix.endsWith('/')) c.note('destPrefix', 'warn', `${JSON.stringify(prefix)} does not end with "/": keys become ${prefix}<key> (ossimport requires a trailing "/")`);
  }
  c.takeKeyPair('destination', ['destAccessKey', 'destSecretKey'], `${c.draft.name}-dst`, 'empty: the destination uses the worker\'s default OSS credentials (OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET); name a profile in destination.credentials otherwise');
}

function mapImportSince(c: Conversion): void {
  const since = c.int('importSince');
  if (since) {
    c.draft.filter.modifiedSince = new Date(since * 1000).toISOString().replace('.000Z', 'Z');
    c.map('importSince', 'filter.modifiedSince');
  } else if (since === 0) c.recordMapped('importSince', 'filter.modifiedSince');
}

function explainLastModify(c: Conversion): void {
  const lastModify = c.int('lastModify');
  if (lastModify) c.note('lastModify', 'warn', `lastModify=${lastModify} (skip verifying files changed after it) is not carried: Ferry verifies every object of the job`);
}

function mapSkipExisting(c: Conversion): void {
  const skipExisting = c.bool('isSkipExistFile', false);
  if (c.draft.mode === 'copy') {
    c.draft.overwrite = skipExisting ? 'if-different' : 'always';
    c.map('isSkipExistFile', 'overwrite', c.value('isSkipExistFile') ? undefined : 'isSkipExistFile unset (ossimport default false)');
    if (skipExisting) c.note('isSkipExistFile', 'info', 'true becomes overwrite: if-different — Ferry compares size and checksums (not mtime), so an existing object with equal content is skipped');
  } else if (c.value('isSkipExistFile')) c.note('isSkipExistFile', 'info', 'not used by an audit job');
}

function mapTaskObjectCount(c: Conversion): void {
  const maxObjects = c.int('taskObjectCountLimit', 1);
  if (maxObjects === undefined) return;
  if (maxObjects > 1_000_000) c.issues.push(`taskObjectCountLimit: ${maxObjects} exceeds Ferry's maximum of 1000000 objects per task`);
  c.draft.tasks.maxObjects = maxObjects;
  c.map('taskObjectCountLimit', 'tasks.maxObjects');
}

function mapTaskObjectSize(c: Conversion): void {
  const maxBytes = c.int('taskObjectSizeLimit', 1);
  if (maxBytes === undefined) return;
  c.draft.tasks.maxBytes = exactSize(maxBytes);
  c.map('taskObjectSizeLimit', 'tasks.maxBytes');
}

/** A size key in ossimport's k/m/g notation; a value that is not a size is an issue. */
function sizeValue(c: Conversion, key: string, example: string): { raw?: string; bytes?: number } {
  const raw = c.value(key);
  const bytes = raw !== undefined ? parseOssimportSize(raw) : undefined;
  if (raw !== undefined && bytes === undefined) c.issues.push(`${key}: ${JSON.stringify(raw)} is not a size (use e.g. ${example})`);
  return { raw, bytes };
}

/** Multipart sizes, adjusted the way ossimport (part size) and Ferry (threshold) would adjust them anyway. */
function mapMultipart(c: Conversion): void {
  const { raw: thresholdRaw, bytes: thresholdBytes } = sizeValue(c, 'multipartUploadThreshold', '150m, 5g');
  const { raw: partRaw, bytes: partBytes } = sizeValue(c, 'multipartUploadPartSize', '50m, 500k');
  let threshold = thresholdBytes;
  let partSize = partBytes;
  if (partSize !== undefined && partSize <= 100 * KiB) {
    c.note('multipartUploadPartSize', 'warn', `${partRaw} is not above 100k, which ossimport ignores in favour of its 50m default; using 50MiB`);
    partSize = 50 * MiB;
  }
  if (threshold !== undefined && threshold < 5 * MiB) {
    c.note('multipartUploadThreshold', 'warn', `${thresholdRaw} is below Ferry's minimum multipart threshold; using 5MiB (smaller objects are uploaded in one request)`);
    threshold = 5 * MiB;
  }
  if (threshold !== undefined && partSize !== undefined && partSize > threshold) {
    c.note('multipartUploadPartSize', 'warn', `the part size (${exactSize(partSize)}) is larger than the multipart threshold (${exactSize(threshold)}); using ${exactSize(threshold)} for both`);
    partSize = threshold;
  }
  if (threshold !== undefined) {
    c.draft.multipart.threshold = exactSize(threshold);
    c.map('multipartUploadThreshold', 'multipart.threshold');
  }
  if (partSize !== undefined) {
    c.draft.multipart.partSize = exactSize(partSize);
    c.map('multipartUploadPartSize', 'multipart.partSize');
  }
}

/** Continuous incremental mode becomes a schedule of incremental rounds (a next step, not a job field). */
function explainIncremental(c: Conversion): void {
  const incremental = c.bool('isIncremental', false);
  const interval = c.int('incrementalModeInterval') ?? 86_400;
  if (!incremental) return;
  c.incrementalEvery = interval;
  if (interval < 900) c.note('incrementalModeInterval', 'warn', `${interval} s is below ossimport's minimum of 900 s`);
  const cron = cronFor(interval);
  c.note('isIncremental, incrementalModeInterval', 'warn', `continuous incremental mode becomes \`ferry schedule ${c.draft.name}.yaml --every ${formatDuration(interval * 1000)}\`${cron ? ` (cron: ${cron})` : ''}, a Temporal Schedule of incremental rounds run by \`ferry worker\`s; each round copies what changed since the previous round started`);
}

function explainMetaMode(c: Conversion): void {
  const metaMode = c.value('getObjectMetaMode');
  if (metaMode !== undefined && c.value('srcType') === 'qiniu' && metaMode !== 'stat') c.note('getObjectMetaMode', 'info', `${metaMode} is not carried: Ferry reads metadata through the S3 API`);
}

function explainCdn(c: Conversion): void {
  if (c.bool('isDownloadFromCdn', false) || c.value('cdnDomain')) c.note('isDownloadFromCdn, cdnDomain', 'warn', 'not carried: UPYUN/CDN downloads — list the CDN URLs in an http list instead');
}

/** A job.cfg setting Ferry has no field for: a note when it is set (or, for a flag, true). */
function explained(key: string, when: 'set' | 'true', level: NoteLevel, message: string): MappingRow {
  const applies = (c: Conversion) => (when === 'true' ? c.bool(key, false) : c.value(key) !== undefined);
  return {
    keys: [key],
    target: 'not carried',
    apply: (c) => {
      if (applies(c)) c.note(key, level, message);
    },
  };
}

/** A sys.properties flag Ferry has no setting for: a note when it is exactly `true`. */
function sysFlag(key: string, message: string): SysMappingRow {
  return {
    key,
    target: 'not carried',
    apply: (c, sys) => {
      if (valueOf(sys, key) === 'true') c.note(key, 'info', message);
    },
  };
}

const SCAN_NOT_NEEDED = 'not needed: Ferry lists in key order and splits the listing into tasks as it goes';

/** job.cfg keys Ferry carries into the job file, in the order their notes and problems are reported. */
const JOB_MAPPING: readonly MappingRow[] = [
  { keys: ['jobName'], target: 'name', apply: mapJobName },
  { keys: ['jobType'], target: 'mode', apply: mapJobType },
  { keys: ['isAuditAfterImport', 'auditMode'], target: 'verify', apply: mapVerify },
  {
    keys: ['srcType', 'srcAccessKey', 'srcSecretKey', 'srcDomain', 'srcBucket', 'srcPrefix', 'appId', 'httpListFilePath', 'httpPrefixColumn', 'relativePathColumn'],
    target: 'source',
    apply: mapSource,
  },
  { keys: ['destAccessKey', 'destSecretKey', 'destDomain', 'destBucket', 'destPrefix'], target: 'destination', apply: mapDestination },
  { keys: ['importSince'], target: 'filter.modifiedSince', apply: mapImportSince },
  { keys: ['lastModify'], target: 'not carried', apply: explainLastModify },
  { keys: ['isSkipExistFile'], target: 'overwrite', apply: mapSkipExisting },
  { keys: ['taskObjectCountLimit'], target: 'tasks.maxObjects', apply: mapTaskObjectCount },
  { keys: ['taskObjectSizeLimit'], target: 'tasks.maxBytes', apply: mapTaskObjectSize },
  { keys: ['multipartUploadThreshold', 'multipartUploadPartSize'], target: 'multipart', apply: mapMultipart },
];

/** job.cfg keys that describe how ossimport ran rather than what it copied; reported after sys.properties. */
const JOB_NOT_CARRIED: readonly MappingRow[] = [
  { keys: ['isIncremental', 'incrementalModeInterval'], target: 'ferry schedule', apply: explainIncremental },
  explained('scanThreadCount', 'set', 'info', SCAN_NOT_NEEDED),
  explained('maxMultiThreadScanDepth', 'set', 'info', SCAN_NOT_NEEDED),
  explained('uploadThreadNumPerLargeFile', 'set', 'info', 'not needed: Ferry uploads the parts of large objects in parallel within concurrency.objects'),
  explained('isServerSideEncryption', 'true', 'warn', 'true is not carried: Ferry does not request server-side encryption per object — enable default encryption on the destination bucket instead'),
  explained('isAllowSymbolicLink', 'true', 'warn', 'true is not carried: the fs provider copies regular files only, never symbolic links'),
  { keys: ['getObjectMetaMode'], target: 'not carried', apply: explainMetaMode },
  { keys: ['isDownloadFromCdn', 'cdnDomain'], target: 'not carried', apply: explainCdn },
  explained('isAllowSparseFile', 'set', 'info', 'not carried: sparse files are read as regular files'),
];

/** Every job.cfg key the tables read (ossimport 2.3): any other key is reported as unknown. */
const KNOWN_JOB_KEYS = new Set([...JOB_MAPPING, ...JOB_NOT_CARRIED].flatMap((row) => row.keys));

/** Keys of sibling nasimport, which writes to NAS: ossimport always writes to OSS. */
const NASIMPORT_KEYS = new Set(['destType', 'destMountDir', 'destMountTarget', 'destNeedMount']);

function mapWorkerThreads(c: Conversion, sys: Properties, key: string): void {
  const threads = valueOf(sys, key);
  if (threads === undefined) return;
  const n = /^\d+$/.test(threads) ? Number(threads) : NaN;
  if (!(n >= 1)) {
    c.issues.push(`${key}: ${JSON.stringify(threads)} is not a whole number ≥ 1`);
    return;
  }
  c.draft.concurrency.objects = Math.min(n, 1024);
  c.map(key, 'concurrency.objects', `${key}=${threads} (${c.sysName})`);
  c.note(key, 'info', `ossimport's threads are per worker; Ferry's concurrency.objects is per task, with concurrency.tasks tasks in flight${n > 1024 ? ' (capped at 1024)' : ''}`);
}

/** 0 and the template's 100000000 KB/s mean "unlimited", which is Ferry's default: nothing to write. */
function mapWorkerThroughput(c: Conversion, sys: Properties, key: string): void {
  const kbPerSecond = valueOf(sys, key);
  if (kbPerSecond === undefined) return;
  const n = /^\d+$/.test(kbPerSecond) ? Number(kbPerSecond) : NaN;
  if (Number.isNaN(n)) c.issues.push(`${key}: ${JSON.stringify(kbPerSecond)} is not a whole number of KB/s`);
  else if (n === 0 || n >= 100_000_000) c.recordMapped(key, 'throttle.bandwidth');
  else {
    const bytes = n * KiB;
    const exact = exactSize(bytes);
    c.draft.throttle.bandwidth = typeof exact === 'string' ? `${exact}/s` : bytes;
    c.map(key, 'throttle.bandwidth', `${key}=${kbPerSecond} (${c.sysName})`);
    c.note(key, 'warn', 'ossimport\'s limit was per worker; Ferry\'s throttle.bandwidth is for the whole job — multiply by the number of workers you had (change it live with `ferry throttle`)');
  }
}

/** sys.properties keys Ferry reads; every other key is explained by {@link SYS_PROCESS_KEYS} or unknown. */
const SYS_MAPPING: readonly SysMappingRow[] = [
  { key: 'workerTaskThreadNum', target: 'concurrency.objects', apply: mapWorkerThreads },
  // Matched by prefix: the unit in parentheses is part of the key's name.
  { key: 'workerMaxThroughput(KB/s)', target: 'throttle.bandwidth', find: (sys) => [...sys.values.keys()].find((k) => /^workerMaxThroughput/.test(k)), apply: mapWorkerThroughput },
  sysFlag('workerRecordMd5', 'built in: Ferry stores the whole-object checksum in the destination metadata of multipart uploads'),
  sysFlag('workerAbortWhenUncatchedException', 'not carried: Ferry never aborts a job for one object; failures are retried, then listed in the report'),
];

const SSH_DEPLOYMENT = 'SSH deployment of ossimport workers; start `ferry worker` on each machine instead';

/** sys.properties keys that only configure ossimport's own processes (SSH deployment, JVM, dispatch, scan). */
const SYS_PROCESS_KEYS: Record<string, string> = {
  workingDir: 'ossimport\'s checkpoint directory; Ferry keeps job state in Temporal',
  workerUser: SSH_DEPLOYMENT,
  workerUserName: SSH_DEPLOYMENT,
  workerPassword: SSH_DEPLOYMENT,
  privateKeyFile: SSH_DEPLOYMENT,
  sshPort: SSH_DEPLOYMENT,
  dispatcherThreadNum: 'ossimport\'s task tracker; Temporal dispatches Ferry\'s tasks',
  javaHeapMaxSize: 'JVM setting; Ferry workers keep memory bounded by design',
};

function applySysMapping(c: Conversion, sys: Properties): void {
  for (const d of sys.duplicates) c.note(d, 'warn', `appears more than once in ${c.sysName}; the last value was used`);
  const handled = new Set<string>();
  for (const row of SYS_MAPPING) {
    const key = row.find ? row.find(sys) : row.key;
    if (key === undefined) continue;
    handled.add(key);
    row.apply(c, sys, key);
  }
  for (const [k, v] of sys.values) {
    if (handled.has(k)) continue;
    const why = Object.hasOwn(SYS_PROCESS_KEYS, k) ? SYS_PROCESS_KEYS[k] : undefined;
    // The standalone template's `workingDir=.` is the default, not a choice worth a note.
    if (why) {
      if (v !== '' && !(k === 'workingDir' && v === '.')) c.note(k, 'info', `not needed: ${why}`);
    } else c.note(k, 'warn', `unknown ${c.sysName} key, ignored`);
  }
}

function explainUnknownJobKeys(c: Conversion): void {
  for (const [k] of c.job.values) {
    if (KNOWN_JOB_KEYS.has(k)) continue;
    if (NASIMPORT_KEYS.has(k)) c.note(k, 'warn', 'belongs to nasimport (ossimport always writes to OSS); ignored');
    else c.note(k, 'warn', `unknown ${c.cfgName} key, ignored`);
  }
}

/** Runs every table over the configuration, in the order the conversion reports notes and problems. */
export function applyMapping(c: Conversion): void {
  for (const d of c.job.duplicates) c.note(d, 'warn', `appears more than once in ${c.cfgName}; the last value was used (as ossimport does)`);
  for (const row of JOB_MAPPING) row.apply(c);
  if (c.sys) applySysMapping(c, c.sys);
  for (const row of JOB_NOT_CARRIED) row.apply(c);
  explainUnknownJobKeys(c);
}
