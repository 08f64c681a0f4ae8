/**
 * Ferry's options: the catalogue of every flag (kebab-case flag → {@link CliOptions} field, value parser, help line),
 * the shape of a command-table row, and {@link parseCommandLine}, which reads argv against a command table.
 * Pure: no env, no I/O. Which command takes which option is the command table in cli.ts.
 *
 * Hand-written on node:util parseArgs, not commander/yargs: per-command option sets and unit values (50MiB/s, 7d) with messages naming the fix take less code here than bending a framework, and startup stays dependency-free.
 */
import { parseArgs } from 'node:util';
import { parseDuration, parseRate, parseTime } from '../common/units';
import { parseTimeOfDay } from '../common/throttle-schedule';
import { UsageError } from './errors';

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
  /** plan: a price file (YAML) overriding the built-in price tables. */
  prices?: string;
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
  /** cutover: set up back-to-origin on the destination (from --origin-url, or the source's own URL). */
  backToOrigin?: boolean;
  originUrl?: string;
  /** cutover: the operator's answers to a running cut-over. */
  switched?: boolean;
  retry?: boolean;
  abort?: boolean;
}

/** The commands of the command table. */
export type CommandName =
  | 'run' | 'start' | 'worker' | 'server' | 'status' | 'watch' | 'pause' | 'resume' | 'throttle' | 'approve' | 'reject'
  | 'incremental' | 'verify' | 'retry' | 'report' | 'plan' | 'import-ossimport' | 'schedule' | 'cutover';

/** What {@link parseCommandLine} returns: the command to run (or help/version) and its options. */
export interface ParsedArgs {
  command: CommandName | 'help' | 'version';
  options: CliOptions;
  /** For `help`: the command asked about. */
  topic?: CommandName;
}

/** An option given as a flag (the rest of CliOptions are positionals). */
export type OptionKey = Exclude<keyof CliOptions, 'job' | 'jobCfg' | 'sysProperties'>;

/** One flag of the catalogue. */
export interface OptionSpec {
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
export const OPTIONS: Record<OptionKey, OptionSpec> = {
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
  prices: { key: 'prices', flag: 'prices', value: 'FILE', help: 'price tables (YAML) for the cost estimate, overriding the built-in AWS S3 and Alibaba OSS list prices (docs/scale.md#price-files)' },
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
  backToOrigin: { key: 'backToOrigin', flag: 'back-to-origin', help: 'cutover: set up back-to-origin on the (OSS) destination before the switch, so reads of objects not copied yet are fetched from the source; removed after the final verify passes' },
  originUrl: {
    key: 'originUrl',
    flag: 'origin-url',
    value: 'URL',
    help: 'cutover: where back-to-origin fetches missing objects (default: the source bucket\'s own URL)',
    parse: (raw) => {
      if (!/^https?:\/\/[^/\s]+/i.test(raw)) throw new Error('must be an http(s) URL, e.g. https://photos.s3.ap-northeast-1.amazonaws.com/');
      return raw;
    },
  },
  switched: { key: 'switched', flag: 'switched', help: 'cutover: traffic now goes to the destination; run the final delta and the full verify' },
  retry: { key: 'retry', flag: 'retry', help: 'cutover: after a failed round or verify, copy what differs and verify again' },
  abort: { key: 'abort', flag: 'abort', help: 'cutover: stop, undo back-to-origin if it was set (no data is deleted)' },
  failures: { key: 'failures', flag: 'failures', value: 'N', help: 'failures to list (default 20)', parse: (raw) => {
    if (!/^\d+$/.test(raw)) throw new Error('must be a whole number');
    return Number(raw);
  } },
};

// Option groups several commands share (the command table spreads them).
export const CONNECTION: OptionKey[] = ['address', 'namespace', 'taskQueue', 'tls', 'tlsCert', 'tlsKey', 'tlsCa', 'tlsServerName', 'apiKey'];
export const WORKER: OptionKey[] = ['credentials', 'reportDir'];
export const EMBEDDED: OptionKey[] = ['dataDir', 'port', 'uiPort', 'keepServer'];
export const RUNNING: OptionKey[] = [...CONNECTION, ...WORKER, ...EMBEDDED, 'noWorker', 'detach', 'interval', 'maxActivities'];

/** A positional argument of a command, stored in the named CliOptions field. */
export type Positional = { key: 'job' | 'jobCfg' | 'sysProperties'; name: string; required: boolean };

/** One row of the command table: what `ferry <name>` takes and how its help reads. */
export interface CommandSpec {
  name: CommandName;
  summary: string;
  usage: string;
  description: string;
  positionals: Positional[];
  options: OptionKey[];
  examples: string[];
}

/**
 * Parses the command line (without `node` and the script) against the command table. Pure: no env, no I/O.
 * @throws UsageError naming the bad command, option, value or missing argument.
 */
export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help', options: {} };
  if (first === '--version' || first === '-V' || first === 'version') return { command: 'version', options: {} };
  if (first === 'help') {
    if (rest[0] === undefined) return { command: 'help', options: {} };
    return { command: 'help', options: {}, topic: findCommand(commands, rest[0]).name };
  }
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${first} (commands: ${commands.map((c) => c.name).join(', ')})`);
  const spec = findCommand(commands, first);
  const { options, positionals } = readFlags(spec, rest);
  if (options.help) return { command: spec.name, options: { help: true } };
  readPositionals(spec, positionals, options);
  checkCombinations(spec.name, options);
  return { command: spec.name, options };
}

function findCommand(commands: readonly CommandSpec[], name: string): CommandSpec {
  const spec = commands.find((c) => c.name === name);
  if (!spec) throw new UsageError(`unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})`);
  return spec;
}

/** Runs node:util parseArgs with the command's flags and converts each value by its catalogue entry. */
function readFlags(spec: CommandSpec, args: string[]): { options: CliOptions; positionals: string[] } {
  const allowed = new Set<OptionKey>(['help', ...spec.options]);
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const key of allowed) {
    const o = OPTIONS[key];
    config[o.flag] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(usageMessage((e as Error).message, spec), spec.name);
  }
  const options: Record<string, unknown> = {};
  for (const key of allowed) {
    const raw = parsed.values[OPTIONS[key].flag];
    if (raw !== undefined) options[key] = convert(OPTIONS[key], raw, spec.name);
  }
  return { options: options as CliOptions, positionals: parsed.positionals };
}

function convert(o: OptionSpec, raw: string | boolean | (string | boolean)[], command: CommandName): unknown {
  if (typeof raw !== 'string') return raw;
  if (!o.parse) {
    if (raw === '') throw new UsageError(`--${o.flag}: must not be empty`, command);
    return raw;
  }
  try {
    return o.parse(raw);
  } catch (e) {
    throw new UsageError(`--${o.flag} ${JSON.stringify(raw)}: ${(e as Error).message}`, command);
  }
}

function readPositionals(spec: CommandSpec, positionals: readonly string[], options: CliOptions): void {
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
}

/** Rules across the options of one command. */
function checkCombinations(command: CommandName, options: CliOptions): void {
  if (command === 'throttle' && [options.bandwidth, options.objectsPerSecond, options.concurrency, options.tasks].every((v) => v === undefined)) {
    throw new UsageError('nothing to change: give at least one of --bandwidth, --objects-per-second, --concurrency, --tasks', command);
  }
  if (command === 'cutover') checkCutoverFlags(options);
  if (command === 'run' && options.noWorker && options.credentials) throw new UsageError('--credentials is used by the in-process worker, which --no-worker turns off', command);
}

/** `--switched`, `--retry`, `--abort` answer a running cut-over: one at a time, without the flags that start one. */
function checkCutoverFlags(o: CliOptions): void {
  const actions = (['switched', 'retry', 'abort'] as const).filter((k) => o[k]);
  if (actions.length > 1) throw new UsageError(`give one of --switched, --retry, --abort (got ${actions.map((a) => `--${a}`).join(' and ')})`, 'cutover');
  const starting = (['threshold', 'every', 'backToOrigin', 'originUrl', 'detach', 'noWorker'] as const).filter((k) => o[k] !== undefined);
  if (actions.length && starting.length) throw new UsageError(`--${actions[0]} answers a running cut-over; ${starting.map((k) => `--${OPTIONS[k].flag}`).join(', ')} only apply when starting one`, 'cutover');
  if (o.originUrl && !o.backToOrigin) throw new UsageError('--origin-url needs --back-to-origin', 'cutover');
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
