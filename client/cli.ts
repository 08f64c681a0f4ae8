#!/usr/bin/env node
/**
 * `ferry`: the command table, argument parsing (node:util parseArgs, pure {@link parseArgv}), help text, and the
 * single error boundary that maps every error to an exit code and a one-line message (DESIGN.md §2):
 * 0 every object copied and verified · 1 finished with failures · 2 bad usage or invalid job file ·
 * 3 the job could not run (auth, missing bucket, server unreachable). No stack traces unless FERRY_DEBUG=1.
 *
 * Command implementations are loaded lazily so `ferry --help` and argument errors stay instant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration, parseRate, parseTime } from '../common/units';
import { parseTimeOfDay } from '../common/throttle-schedule';
import { ExitCode, UsageError, exitCodeFor, formatError } from './errors';
import { defaultIo, type Io } from './io';

/** Every option any command takes, normalised (units parsed). Which command takes which: {@link COMMANDS}. */
export interface CliOptions {
  help?: boolean;
  json?: boolean;
  /** JOB argument: a job file path or (for commands on existing jobs) a job name. */
  job?: string;
  /** import-ossimport: the ossimport job.cfg and optional sys.properties. */
  jobCfg?: string;
  sysProperties?: string;
  // Temporal connection (flags override TEMPORAL_* env).
  address?: string;
  namespace?: string;
  taskQueue?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsServerName?: string;
  apiKey?: string;
  // Worker side.
  credentials?: string;
  reportDir?: string;
  maxActivities?: number;
  identity?: string;
  metricsPort?: number;
  noWorker?: boolean;
  // Embedded server.
  dataDir?: string;
  port?: number;
  uiPort?: number;
  keepServer?: boolean;
  stop?: boolean;
  // Running and watching.
  detach?: boolean;
  /** Progress refresh interval, ms. */
  interval?: number;
  // throttle: bytes/s and objects/s; null = remove the limit.
  bandwidth?: number | null;
  objectsPerSecond?: number | null;
  concurrency?: number;
  tasks?: number;
  // incremental: epoch ms.
  since?: number;
  // plan.
  rate?: number;
  deadline?: number;
  sampleSeconds?: number;
  // import-ossimport.
  name?: string;
  out?: string;
  force?: boolean;
  // report.
  failures?: number;
  // schedule: interval ms and a daily window (UTC) in which rounds may start.
  every?: number;
  window?: { from: number; to: number; text: string };
  // cutover: stop when a round copies fewer objects than this.
  threshold?: number;
}

export type CommandName =
  | 'run' | 'start' | 'worker' | 'server' | 'status' | 'watch' | 'pause' | 'resume' | 'throttle'
  | 'incremental' | 'verify' | 'retry' | 'report' | 'plan' | 'import-ossimport' | 'schedule' | 'cutover';

export interface ParsedArgs {
  command: CommandName | 'help' | 'version';
  options: CliOptions;
  /** For `help`: the command asked about. */
  topic?: CommandName;
}

type OptionKey = Exclude<keyof CliOptions, 'job' | 'jobCfg' | 'sysProperties'>;

interface OptionSpec {
  key: OptionKey;
  flag: string;
  short?: string;
  /** Placeholder of the value; absent = boolean flag. */
  value?: string;
  help: string;
  /** Converts the raw string; throws a message naming the fix. */
  parse?: (raw: string) => unknown;
}

const positiveInt = (what: string) => (raw: string) => {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`must be a whole number ≥ 1 (${what})`);
  return Number(raw);
};
const port = (raw: string) => {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) throw new Error('must be a TCP port between 1 and 65535');
  return Number(raw);
};
const duration = (example: string) => (raw: string) => {
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) throw new Error(`is not a duration (use e.g. ${example})`);
  return ms;
};
const rate = (raw: string) => {
  const n = parseRate(raw);
  if (n === undefined || n <= 0) throw new Error('is not a positive rate (use e.g. 50MiB/s, 100MB/s or bytes per second)');
  return n;
};
const unlimited = <T>(inner: (raw: string) => T) => (raw: string) => (/^(unlimited|none|off|0)$/i.test(raw.trim()) ? null : inner(raw));

/** The option catalogue. Flags are kebab-case; `key` is the CliOptions field. */
const OPTIONS: Record<OptionKey, OptionSpec> = {
  help: { key: 'help', flag: 'help', short: 'h', help: 'show help for the command' },
  json: { key: 'json', flag: 'json', help: 'machine-readable output on stdout (human messages go to stderr)' },
  address: { key: 'address', flag: 'address', value: 'HOST:PORT', help: 'Temporal frontend (env TEMPORAL_ADDRESS; default: the embedded server, 127.0.0.1:7233)' },
  namespace: { key: 'namespace', flag: 'namespace', short: 'n', value: 'NS', help: 'Temporal namespace (env TEMPORAL_NAMESPACE; default "default")' },
  taskQueue: { key: 'taskQueue', flag: 'task-queue', value: 'QUEUE', help: 'task queue of the Ferry workers (env FERRY_TASK_QUEUE; default "ferry")' },
  tls: { key: 'tls', flag: 'tls', help: 'connect with TLS using the system roots (env TEMPORAL_TLS=true)' },
  tlsCert: { key: 'tlsCert', flag: 'tls-cert', value: 'FILE', help: 'client certificate for mTLS (env TEMPORAL_TLS_CERT)' },
  tlsKey: { key: 'tlsKey', flag: 'tls-key', value: 'FILE', help: 'client private key for mTLS (env TEMPORAL_TLS_KEY)' },
  tlsCa: { key: 'tlsCa', flag: 'tls-ca', value: 'FILE', help: 'CA certificate of the server (env TEMPORAL_TLS_CA)' },
  tlsServerName: { key: 'tlsServerName', flag: 'tls-server-name', value: 'NAME', help: 'TLS server name override (env TEMPORAL_TLS_SERVER_NAME)' },
  apiKey: { key: 'apiKey', flag: 'api-key', value: 'KEY', help: 'API key, e.g. for Temporal Cloud (prefer env TEMPORAL_API_KEY)' },
  credentials: { key: 'credentials', flag: 'credentials', value: 'FILE', help: 'credentials file: YAML map profile → {accessKeyId, secretAccessKey} (env FERRY_CREDENTIALS_FILE)' },
  reportDir: { key: 'reportDir', flag: 'report-dir', value: 'DIR', help: 'where reports are written (env FERRY_REPORT_DIR; default <data-dir>/reports)' },
  maxActivities: { key: 'maxActivities', flag: 'max-activities', value: 'N', help: 'concurrent batches on this worker (env FERRY_MAX_ACTIVITIES; default 32)', parse: positiveInt('batches') },
  identity: { key: 'identity', flag: 'identity', value: 'ID', help: 'worker identity shown in the Web UI (default ferry-worker-<pid>@<host>)' },
  metricsPort: { key: 'metricsPort', flag: 'metrics-port', value: 'N', help: 'serve Prometheus metrics (SDK + Ferry) on this port at /metrics (env FERRY_METRICS_PORT; default off)', parse: port },
  noWorker: { key: 'noWorker', flag: 'no-worker', help: 'do not run an in-process worker (other `ferry worker`s do the work)' },
  dataDir: { key: 'dataDir', flag: 'data-dir', value: 'DIR', help: 'Ferry\'s data directory: embedded server database, state, reports (env FERRY_HOME; default ~/.ferry)' },
  port: { key: 'port', flag: 'port', value: 'N', help: 'embedded server frontend port (default 7233)', parse: port },
  uiPort: { key: 'uiPort', flag: 'ui-port', value: 'N', help: 'embedded server Web UI port (default port + 1000)', parse: port },
  keepServer: { key: 'keepServer', flag: 'keep-server', help: 'leave the embedded server running when the command ends (for the Web UI; stop it with `ferry server --stop`)' },
  stop: { key: 'stop', flag: 'stop', help: 'stop the embedded server recorded in the data directory, then exit' },
  detach: { key: 'detach', flag: 'detach', help: 'start the run on the cluster and return its workflow id instead of running it here' },
  interval: { key: 'interval', flag: 'interval', value: 'DURATION', help: 'progress refresh interval (default 1s on a terminal, 10s otherwise)', parse: duration('2s') },
  bandwidth: { key: 'bandwidth', flag: 'bandwidth', value: 'RATE', help: 'bandwidth limit for the whole job, e.g. 50MiB/s; "unlimited" removes it', parse: unlimited(rate) },
  objectsPerSecond: {
    key: 'objectsPerSecond',
    flag: 'objects-per-second',
    value: 'N',
    help: 'objects started per second for the whole job; "unlimited" removes it',
    parse: unlimited((raw) => {
      const n = Number(raw);
      if (!(n > 0) || !Number.isFinite(n)) throw new Error('must be a positive number of objects per second, or "unlimited"');
      return n;
    }),
  },
  concurrency: { key: 'concurrency', flag: 'concurrency', value: 'N', help: 'object transfers in flight per task', parse: positiveInt('objects per task') },
  tasks: { key: 'tasks', flag: 'tasks', value: 'N', help: 'tasks in flight', parse: positiveInt('tasks') },
  since: {
    key: 'since',
    flag: 'since',
    value: 'TIME',
    help: 'copy objects modified at or after TIME (ISO-8601 or Unix seconds; default: when the previous run started)',
    parse: (raw) => {
      const t = parseTime(raw);
      if (t === undefined) throw new Error('is not a time (use ISO-8601 like 2026-01-01T00:00:00Z, or Unix seconds)');
      return t;
    },
  },
  rate: { key: 'rate', flag: 'rate', value: 'RATE', help: 'assume this copy rate per worker instead of measuring a sample, e.g. 100MiB/s', parse: rate },
  deadline: { key: 'deadline', flag: 'deadline', value: 'DURATION', help: 'finish within this time: prints the workers needed, e.g. 7d', parse: duration('7d or 36h') },
  sampleSeconds: {
    key: 'sampleSeconds',
    flag: 'sample-seconds',
    value: 'N',
    help: 'seconds spent reading a sample of objects to measure the rate (default 5; 0 = no sample)',
    parse: (raw) => {
      if (!/^\d+(\.\d+)?$/.test(raw)) throw new Error('must be a number of seconds');
      return Number(raw);
    },
  },
  name: { key: 'name', flag: 'name', value: 'NAME', help: 'job name (default: jobName from job.cfg)' },
  out: { key: 'out', flag: 'out', short: 'o', value: 'DIR', help: 'directory for the generated files (default: current directory)' },
  force: { key: 'force', flag: 'force', short: 'f', help: 'overwrite existing output files' },
  every: { key: 'every', flag: 'every', value: 'DURATION', help: 'start an incremental round this often, e.g. 1h or 30m', parse: duration('1h or 30m') },
  window: {
    key: 'window',
    flag: 'window',
    value: 'HH:MM-HH:MM',
    help: 'only start rounds inside this daily window (UTC; may span midnight), e.g. 01:00-06:00',
    parse: (raw) => {
      const m = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/.exec(raw.trim());
      const from = m ? parseTimeOfDay(m[1]!) : undefined;
      const to = m ? parseTimeOfDay(m[2]!) : undefined;
      if (from === undefined || to === undefined) throw new Error('is not a daily window (use HH:MM-HH:MM, 24-hour UTC, e.g. 01:00-06:00)');
      if (from === to) throw new Error('must not start and end at the same time');
      return { from, to, text: raw.trim() };
    },
  },
  threshold: { key: 'threshold', flag: 'threshold', value: 'N', help: 'ready to switch when a round copies fewer than N objects (default 100)', parse: positiveInt('objects') },
  failures: { key: 'failures', flag: 'failures', value: 'N', help: 'failures to list (default 20)', parse: (raw) => {
    if (!/^\d+$/.test(raw)) throw new Error('must be a whole number');
    return Number(raw);
  } },
};

const CONNECTION: OptionKey[] = ['address', 'namespace', 'taskQueue', 'tls', 'tlsCert', 'tlsKey', 'tlsCa', 'tlsServerName', 'apiKey'];
const WORKER: OptionKey[] = ['credentials', 'reportDir'];
const EMBEDDED: OptionKey[] = ['dataDir', 'port', 'uiPort', 'keepServer'];
const RUNNING: OptionKey[] = [...CONNECTION, ...WORKER, ...EMBEDDED, 'noWorker', 'detach', 'interval', 'maxActivities'];

type Positional = { key: 'job' | 'jobCfg' | 'sysProperties'; name: string; required: boolean };

export interface CommandSpec {
  name: CommandName;
  summary: string;
  usage: string;
  description: string;
  positionals: Positional[];
  options: OptionKey[];
  examples: string[];
}

const JOB_FILE: Positional = { key: 'job', name: 'JOB.yaml', required: true };
const JOB: Positional = { key: 'job', name: 'JOB', required: true };

/** The command table: one row per command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    summary: 'run a job here: embedded Temporal + in-process worker + live progress; attaches if already running',
    usage: 'ferry run JOB.yaml|NAME [options]',
    description:
      'Validates the job file, starts (or reuses) the embedded Temporal dev server unless --address/TEMPORAL_ADDRESS is set, ' +
      'starts an in-process worker and the job — or attaches to ferry-<name> if it is already running — and shows live progress ' +
      'until the job ends. Ctrl-C detaches: the worker stops cleanly, the job keeps its state in Temporal, and running the same ' +
      'command again resumes it. `ferry run NAME` resumes (or re-runs) a job that ran here before by its name. Exit 0 = every object copied and verified, 1 = finished with failures (see the report), ' +
      '2 = invalid job file, 3 = could not run (credentials, bucket, server), 130 = detached by Ctrl-C.',
    positionals: [{ key: 'job', name: 'JOB.yaml|NAME', required: true }],
    options: ['json', ...RUNNING.filter((k) => k !== 'detach')],
    examples: ['ferry run examples/demo.yaml', 'ferry run job.yaml --credentials creds.yaml --json', 'ferry run job.yaml --address temporal.internal:7233 --no-worker'],
  },
  {
    name: 'start',
    summary: 'start a job on a Temporal cluster and print its workflow id',
    usage: 'ferry start JOB.yaml [options]',
    description: 'Validates the job file and starts workflow ferry-<name> (type migrationJob) on the task queue; `ferry worker`s do the work. If the job is already running, prints its id and starts nothing.',
    positionals: [JOB_FILE],
    options: ['json', ...CONNECTION, 'dataDir'],
    examples: ['ferry start job.yaml --address temporal.internal:7233', 'TEMPORAL_ADDRESS=127.0.0.1:7233 ferry start job.yaml --json'],
  },
  {
    name: 'worker',
    summary: 'run a worker process (distributed mode); start as many as you like',
    usage: 'ferry worker [options]',
    description: 'Polls the task queue and runs job and task workflows and copy activities until SIGINT/SIGTERM (graceful: in-flight batches save their position). Credentials are resolved here: FERRY_CREDENTIALS_<PROFILE>_* env, --credentials FILE, then the provider defaults.',
    positionals: [],
    options: [...CONNECTION, ...WORKER, 'maxActivities', 'identity', 'metricsPort', 'dataDir'],
    examples: ['ferry worker --address temporal.internal:7233 --credentials /etc/ferry/credentials.yaml', 'FERRY_MAX_ACTIVITIES=64 ferry worker'],
  },
  {
    name: 'server',
    summary: 'run the embedded Temporal dev server with its Web UI in the foreground',
    usage: 'ferry server [--port N] [--ui-port N] [--data-dir DIR] | ferry server --stop',
    description: 'Starts `temporal server start-dev` with SQLite under the data directory and Ferry\'s search attributes, prints the address and the Web UI URL, and runs until Ctrl-C/SIGTERM, then stops the server. Several `ferry worker`s and `ferry start` on this host can use it. --stop stops a server left running by `ferry run --keep-server`.',
    positionals: [],
    options: ['dataDir', 'port', 'uiPort', 'stop', 'json'],
    examples: ['ferry server', 'ferry server --port 7300 --ui-port 8300 --data-dir /srv/ferry', 'ferry server --stop'],
  },
  {
    name: 'status',
    summary: 'progress snapshot of a job (a progress query), or its result when finished',
    usage: 'ferry status JOB [options]',
    description: 'JOB is a job name or job file. Running jobs are asked with the `progress` query (needs a live worker); finished jobs show their result. Exit 0 while running or succeeded, 1 finished with failures, 3 failed.',
    positionals: [JOB],
    options: ['json', ...CONNECTION, 'dataDir'],
    examples: ['ferry status photos', 'ferry status job.yaml --json'],
  },
  {
    name: 'watch',
    summary: 'live progress bar of a running job until it ends',
    usage: 'ferry watch JOB [options]',
    description: 'Follows a job started elsewhere (`ferry start`, another `ferry run`); ends with the summary and the job\'s exit code. Ctrl-C stops watching only.',
    positionals: [JOB],
    options: ['json', 'interval', ...CONNECTION, 'dataDir'],
    examples: ['ferry watch photos', 'ferry watch photos --interval 30s'],
  },
  {
    name: 'pause',
    summary: 'pause a job: no new copies start; in-flight batches stop and keep their position',
    usage: 'ferry pause JOB [options]',
    description: 'Sends the `pause` signal (the same as `temporal workflow signal --workflow-id ferry-<name> --name pause`).',
    positionals: [JOB],
    options: ['json', ...CONNECTION, 'dataDir'],
    examples: ['ferry pause photos'],
  },
  {
    name: 'resume',
    summary: 'resume a paused job where it stopped',
    usage: 'ferry resume JOB [options]',
    description: 'Sends the `resume` signal.',
    positionals: [JOB],
    options: ['json', ...CONNECTION, 'dataDir'],
    examples: ['ferry resume photos'],
  },
  {
    name: 'throttle',
    summary: 'change the limits of a running job, effective on every worker within seconds',
    usage: 'ferry throttle JOB [--bandwidth RATE] [--objects-per-second N] [--concurrency N] [--tasks N]',
    description: 'Executes the `throttle` update and prints the limits now in force. When no worker can take the update right now, the change is sent as a signal and applies as soon as one runs. "unlimited" removes a limit.',
    positionals: [JOB],
    options: ['bandwidth', 'objectsPerSecond', 'concurrency', 'tasks', 'json', ...CONNECTION, 'dataDir'],
    examples: ['ferry throttle photos --bandwidth 50MiB/s --objects-per-second 200', 'ferry throttle photos --bandwidth unlimited --concurrency 64'],
  },
  {
    name: 'incremental',
    summary: 'run again, copying only what changed since T (default: when the previous run started)',
    usage: 'ferry incremental JOB [--since TIME] [options]',
    description: 'JOB is a job name (its last run\'s settings are reused) or a job file. Starts a new run of ferry-<name> with filter.modifiedSince = --since, or the start time of the previous run. Runs like `ferry run` (embedded server, in-process worker, progress, exit codes) unless --detach.',
    positionals: [JOB],
    options: ['since', 'json', ...RUNNING],
    examples: ['ferry incremental photos', 'ferry incremental job.yaml --since 2026-01-01T00:00:00Z', 'ferry incremental photos --address temporal.internal:7233 --detach'],
  },
  {
    name: 'schedule',
    summary: 'create (or update) a Temporal Schedule that runs incremental rounds of a job',
    usage: 'ferry schedule JOB.yaml --every DURATION [--window HH:MM-HH:MM] [options]',
    description:
      'Creates Temporal Schedule ferry-<name>: every DURATION it starts workflow scheduledRound, which runs the job (ferry-<name>) with ' +
      'filter.modifiedSince = the start of the previous successful round, minus a one-minute overlap (the first round uses the job file\'s filter). Rounds never overlap ' +
      '(a round still running when the next is due skips it); --window limits when rounds may start (UTC). `ferry worker`s do the work. ' +
      'An existing schedule of the job is updated. Pause or delete it with `temporal schedule toggle|delete --schedule-id ferry-<name>` or the Web UI.',
    positionals: [JOB_FILE],
    options: ['every', 'window', 'json', ...CONNECTION, 'dataDir'],
    examples: ['ferry schedule job.yaml --every 1h', 'ferry schedule job.yaml --every 30m --window 01:00-06:00 --address temporal.internal:7233'],
  },
  {
    name: 'cutover',
    summary: 'repeat incremental rounds until one copies fewer than --threshold objects, then say "ready to switch"',
    usage: 'ferry cutover JOB.yaml [--threshold N] [options]',
    description:
      'The ossimport T1/T2 recipe: the first round copies everything (or, when the job already completed here, what changed since its last run ' +
      'started); each further round copies what changed since the previous round started (with a one-minute overlap), until a round copies fewer than N objects (default 100). ' +
      'Then it prints "ready to switch" with the time to pass to the final `ferry incremental JOB --since T` after traffic moved. Runs like ' +
      '`ferry run` (embedded server and in-process worker unless --address/--no-worker). Exit 0 when ready, 1 when a round had failures.',
    positionals: [JOB_FILE],
    options: ['threshold', 'json', ...RUNNING],
    examples: ['ferry cutover job.yaml', 'ferry cutover job.yaml --threshold 1000 --address temporal.internal:7233 --no-worker'],
  },
  {
    name: 'verify',
    summary: 'verify-only run: compare source and destination, copy nothing (ossimport jobType=audit)',
    usage: 'ferry verify JOB.yaml [options]',
    description: 'Runs the job file in mode verify: every source object is compared with its destination copy by the job\'s verify level (size, checksum or content); differences are listed as failures in the report. Runs like `ferry run` unless --detach.',
    positionals: [JOB_FILE],
    options: ['json', ...RUNNING],
    examples: ['ferry verify job.yaml', 'ferry verify job.yaml --json'],
  },
  {
    name: 'retry',
    summary: 're-run a finished job to copy what is still missing or different',
    usage: 'ferry retry JOB [options]',
    description: 'JOB is a job name (its last run\'s settings are reused) or a job file. Failed objects are retried within a run already (`retries:` rounds); this starts a new run with overwrite "if-different" (an "always" policy is relaxed to it), which lists both sides and copies only objects that are missing or differ — in practice the failed ones. Runs like `ferry run` unless --detach.',
    positionals: [JOB],
    options: ['json', ...RUNNING],
    examples: ['ferry retry photos'],
  },
  {
    name: 'report',
    summary: 'print the report of a job\'s last run and where its failure list is',
    usage: 'ferry report JOB [--failures N] [options]',
    description: 'Reads the report folder of the last finished run (summary.txt, report.json, failures.jsonl) and prints the summary and the first failures. The folder is on the machine of the worker that wrote it.',
    positionals: [JOB],
    options: ['failures', 'json', ...CONNECTION, 'dataDir'],
    examples: ['ferry report photos', 'ferry report photos --json', 'ferry report photos --failures 100'],
  },
  {
    name: 'plan',
    summary: 'dry run: count what would be copied and skipped, estimate the duration and workers for a deadline',
    usage: 'ferry plan JOB.yaml [--rate RATE] [--deadline DURATION] [options]',
    description: 'Lists the source (and the destination, page by page) through the providers from this machine, without copying: objects and bytes to copy and to skip under the overwrite policy, objects excluded by filters, the 10 largest objects, a duration estimate from a short measured read sample (or --rate), and with --deadline the number of workers needed. Credentials are resolved here as on a worker.',
    positionals: [JOB_FILE],
    options: ['rate', 'deadline', 'sampleSeconds', 'credentials', 'json'],
    examples: ['ferry plan job.yaml', 'ferry plan job.yaml --deadline 7d', 'ferry plan job.yaml --rate 100MiB/s --json'],
  },
  {
    name: 'import-ossimport',
    summary: 'convert an ossimport job.cfg (+ sys.properties) into a Ferry job file and a credentials file',
    usage: 'ferry import-ossimport job.cfg [sys.properties] [--name NAME] [--out DIR] [--force]',
    description: 'Writes <name>.yaml (no secrets; comments name the ossimport key of each field) and <name>.credentials.yaml (mode 0600) and lists every key that could not be carried, and why. Secrets are never printed.',
    positionals: [
      { key: 'jobCfg', name: 'job.cfg', required: true },
      { key: 'sysProperties', name: 'sys.properties', required: false },
    ],
    options: ['name', 'out', 'force', 'json'],
    examples: ['ferry import-ossimport conf/local_job.cfg conf/sys.properties --name nas-to-oss', 'ferry import-ossimport job.cfg --out jobs/ --json'],
  },
];

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

/** Parses the command line (without `node` and the script). Pure: no env, no I/O. Throws UsageError. */
export function parseArgv(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help', options: {} };
  if (first === '--version' || first === '-V' || first === 'version') return { command: 'version', options: {} };
  if (first === 'help') {
    if (rest[0] === undefined) return { command: 'help', options: {} };
    const topic = byName.get(rest[0] as CommandName);
    if (!topic) throw new UsageError(`unknown command "${rest[0]}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    return { command: 'help', options: {}, topic: topic.name };
  }
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${first} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  const spec = byName.get(first as CommandName);
  if (!spec) throw new UsageError(`unknown command "${first}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);

  const allowed = new Set<OptionKey>(['help', ...spec.options]);
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const key of allowed) {
    const o = OPTIONS[key];
    config[o.flag] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(usageMessage((e as Error).message, spec), spec.name);
  }
  const options: CliOptions = {};
  for (const key of allowed) {
    const o = OPTIONS[key];
    const raw = parsed.values[o.flag];
    if (raw === undefined) continue;
    if (typeof raw !== 'string') {
      (options as Record<string, unknown>)[key] = raw;
      continue;
    }
    if (!o.parse) {
      if (raw === '') throw new UsageError(`--${o.flag}: must not be empty`, spec.name);
      (options as Record<string, unknown>)[key] = raw;
      continue;
    }
    try {
      (options as Record<string, unknown>)[key] = o.parse(raw);
    } catch (e) {
      throw new UsageError(`--${o.flag} ${JSON.stringify(raw)}: ${(e as Error).message}`, spec.name);
    }
  }
  if (options.help) return { command: spec.name, options: { help: true } };
  const positionals = parsed.positionals;
  if (positionals.length > spec.positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[spec.positionals.length])} (usage: ${spec.usage})`, spec.name);
  }
  spec.positionals.forEach((p, i) => {
    const v = positionals[i];
    if (v === undefined) {
      if (p.required) throw new UsageError(`missing ${p.name} (usage: ${spec.usage})`, spec.name);
      return;
    }
    options[p.key] = v;
  });
  if (spec.name === 'throttle' && [options.bandwidth, options.objectsPerSecond, options.concurrency, options.tasks].every((v) => v === undefined)) {
    throw new UsageError('nothing to change: give at least one of --bandwidth, --objects-per-second, --concurrency, --tasks', spec.name);
  }
  if (spec.name === 'run' && options.noWorker && options.credentials) throw new UsageError('--credentials is used by the in-process worker, which --no-worker turns off', spec.name);
  return { command: spec.name, options };
}

function usageMessage(nodeMessage: string, spec: CommandSpec): string {
  // node:util messages: "Unknown option '--x'. To specify a positional argument …", "Option '--a <value>' argument missing".
  const unknown = /Unknown option '([^']+)'/.exec(nodeMessage);
  if (unknown) return `unknown option ${unknown[1]} for \`ferry ${spec.name}\``;
  const missing = /Option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(nodeMessage);
  if (missing) return `${missing[2]} needs a value`;
  const ambiguous = /Option '(-\w, )?(--[\w-]+)' argument is ambiguous/.exec(nodeMessage);
  if (ambiguous) return `${ambiguous[2]}: a value starting with "-" must be written as ${ambiguous[2]}=VALUE`;
  const bool = /Option '(-\w, )?(--[\w-]+)' does not take an argument/.exec(nodeMessage);
  if (bool) return `${bool[2]} does not take a value`;
  return nodeMessage.split('\n')[0]!;
}

/** `ferry --help`. */
export function renderGeneralHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'ferry — durable object-storage migration (OSS, S3, filesystems, HTTP lists) on Temporal',
    '',
    'Usage: ferry <command> [options]      ferry <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes: 0 every object copied and verified · 1 finished with failures (see the report) ·',
    '            2 bad usage or invalid job file · 3 could not run (credentials, bucket, server) · 130 interrupted',
    'Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, FERRY_HOME (~/.ferry), FERRY_CREDENTIALS_FILE,',
    '             FERRY_CREDENTIALS_<PROFILE>_ACCESS_KEY_ID / _SECRET_ACCESS_KEY / _SESSION_TOKEN, FERRY_DEBUG=1 (stack traces)',
  ].join('\n');
}

/** `ferry <command> --help`. */
export function renderCommandHelp(name: CommandName): string {
  const spec = byName.get(name)!;
  const opts = ['help' as OptionKey, ...spec.options].map((k) => OPTIONS[k]);
  const label = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.value ? ` ${o.value}` : ''}`;
  const width = Math.max(...opts.map((o) => label(o).length));
  return [
    `Usage: ${spec.usage}`,
    '',
    wrap(spec.description, 100),
    '',
    'Options:',
    ...opts.map((o) => `  ${label(o).padEnd(width)}  ${o.help}`),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
  ].join('\n');
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

/** A command implementation: resolves to the exit code. */
export type CommandHandler = (options: CliOptions, io: Io) => Promise<number>;

const HANDLERS: Record<CommandName, () => Promise<CommandHandler>> = {
  run: async () => (await import('./commands/run')).runCommand,
  start: async () => (await import('./commands/start')).startCommand,
  worker: async () => (await import('./commands/worker')).workerCommand,
  server: async () => (await import('./commands/server')).serverCommand,
  status: async () => (await import('./commands/status')).statusCommand,
  watch: async () => (await import('./commands/watch')).watchCommand,
  pause: async () => (await import('./commands/pause')).pauseCommand,
  resume: async () => (await import('./commands/resume')).resumeCommand,
  throttle: async () => (await import('./commands/throttle')).throttleCommand,
  incremental: async () => (await import('./commands/incremental')).incrementalCommand,
  verify: async () => (await import('./commands/verify')).verifyCommand,
  retry: async () => (await import('./commands/retry')).retryCommand,
  report: async () => (await import('./commands/report')).reportCommand,
  plan: async () => (await import('./commands/plan')).planCommand,
  'import-ossimport': async () => (await import('./commands/import-ossimport')).importOssimportCommand,
  schedule: async () => (await import('./commands/schedule')).scheduleCommand,
  cutover: async () => (await import('./commands/cutover')).cutoverCommand,
};

function version(): string {
  // client/cli.ts is one level below package.json, dist/client/cli.js two.
  for (const p of [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ferry' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

/** Runs the CLI: parse → dispatch → the single error boundary. Resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const debug = io.env.FERRY_DEBUG === '1' || io.env.FERRY_DEBUG === 'true';
  try {
    const parsed = parseArgv(argv);
    if (parsed.command === 'help') {
      io.out(parsed.topic ? renderCommandHelp(parsed.topic) : renderGeneralHelp());
      return ExitCode.ok;
    }
    if (parsed.command === 'version') {
      io.out(`ferry ${version()}`);
      return ExitCode.ok;
    }
    if (parsed.options.help) {
      io.out(renderCommandHelp(parsed.command));
      return ExitCode.ok;
    }
    const handler = await HANDLERS[parsed.command]();
    return await handler(parsed.options, io);
  } catch (e) {
    io.err(formatError(e, debug));
    return exitCodeFor(e);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The outcome is decided: a late error from a closing gRPC channel or worker must not turn it into a crash.
      if (process.env.FERRY_DEBUG !== '1') process.on('uncaughtException', () => process.exit(code));
      // Lingering handles (gRPC channels, the worker runtime) must not keep a finished command alive.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (e) => {
      process.stderr.write(`ferry: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(ExitCode.failures);
    },
  );
}
