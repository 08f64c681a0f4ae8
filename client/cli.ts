#!/usr/bin/env node
/**
 * `ferry`: the command table and the single error boundary that maps every error to an exit code and a one-line
 * message (DESIGN.md §2): 0 every object copied and verified · 1 finished with failures · 2 bad usage or invalid
 * job file · 3 the job could not run (auth, missing bucket, server unreachable). No stack traces unless FERRY_DEBUG=1.
 * Options and their parsing: options.ts; help text: help.ts.
 *
 * Command implementations are loaded lazily so `ferry --help` and argument errors stay instant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, exitCodeFor, formatError } from './errors';
import { formatCommandHelp, formatGeneralHelp } from './help';
import { defaultIo, type Io } from './io';
import { mark } from './timing';
import { CONNECTION, RUNNING, WORKER, parseCommandLine, type CliOptions, type CommandName, type CommandSpec, type ParsedArgs, type Positional } from './options';

export type { CliOptions, CommandName, CommandSpec, ParsedArgs } from './options';

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
    name: 'approve',
    summary: 'mirror mode: delete the set of destination objects awaiting approval (over mirror.maxDelete)',
    usage: 'ferry approve JOB [options]',
    description:
      'A mirror job that would delete more than mirror.maxDelete stops before deleting, lists the set in the report (deletions.jsonl) and waits. ' +
      'This shows the set (count, bytes, first keys) and executes the `approve` update for exactly that set (its digest): the job deletes those objects, ' +
      'and stops deleting if the listings give another set by then. Refused (exit 3) when no set awaits approval.',
    positionals: [JOB],
    options: ['json', ...CONNECTION, 'dataDir'],
    examples: ['ferry approve photos', 'ferry approve photos --json'],
  },
  {
    name: 'reject',
    summary: 'mirror mode: delete nothing this run; a set awaiting approval ends the job',
    usage: 'ferry reject JOB [options]',
    description:
      'Executes the `reject` update: the job deletes nothing in this run. A job waiting for approval ends at once (its report lists the set as not deleted); ' +
      'a job still copying finishes its copy and ends without deleting. Refused (exit 3) once deletions have started.',
    positionals: [JOB],
    options: ['json', ...CONNECTION, 'dataDir'],
    examples: ['ferry reject photos'],
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
    summary: 'the whole T1/T2 cut-over as one durable workflow: converge, (back-to-origin,) wait for the switch, final delta, verify',
    usage: 'ferry cutover JOB.yaml [--threshold N] [--every DURATION] [--back-to-origin [--origin-url URL]] [options] | ferry cutover NAME --switched|--retry|--abort',
    description:
      'Starts (or attaches to) workflow ferry-<name>-cutover and follows its phases. Converge: a full round (or, when the job already completed here, ' +
      'what changed since that run started), then incremental rounds — each since the previous round started, with a one-minute overlap — until one copies fewer than N objects (default 100). ' +
      'With --back-to-origin it then sets up back-to-origin on the destination (OSS; other stores are skipped with a note). Then it prints ' +
      '"ready to switch" and waits, for hours or days, running an incremental round every --every (default 10m), until `ferry cutover NAME --switched`; ' +
      'then a final delta round, a full verify, and back-to-origin is taken down: "cut-over complete". Verify differences wait for `--retry` ' +
      '(copy what differs, verify again) or `--abort` (cancel the running round, undo back-to-origin; no data is deleted). Every round runs as ' +
      'ferry-<name>, so `ferry status NAME` shows it. Runs like `ferry run` (embedded server and in-process worker unless --address/--no-worker); ' +
      '--detach starts it and returns. --switched/--retry/--abort send the Temporal Update (or the signal of the same name when no worker answers). ' +
      'Exit 0 = cut-over complete, 1 = aborted, 3 = could not run.',
    positionals: [{ key: 'job', name: 'JOB.yaml|NAME', required: true }],
    options: ['threshold', 'every', 'backToOrigin', 'originUrl', 'switched', 'retry', 'abort', 'json', ...RUNNING],
    examples: [
      'ferry cutover job.yaml --back-to-origin',
      'ferry cutover photos --switched',
      'ferry cutover job.yaml --threshold 1000 --every 30m --address temporal.internal:7233 --detach',
      'ferry cutover photos --abort',
    ],
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
    description: 'Lists the source (and the destination, page by page) through the providers from this machine, without copying: objects and bytes to copy and to skip under the overwrite policy, objects excluded by filters, the 10 largest objects, a duration estimate from a short measured read sample (or --rate), and with --deadline the number of workers needed, and the requests by kind (LIST, HEAD, GET, PUT, multipart, COPY, restore) and bytes out of each store with their cost at list prices (built-in AWS S3 us-east-1 and Alibaba OSS cn-hangzhou tables, or --prices FILE). Credentials are resolved here as on a worker.',
    positionals: [JOB_FILE],
    options: ['rate', 'deadline', 'sampleSeconds', 'prices', 'credentials', 'json'],
    examples: ['ferry plan job.yaml', 'ferry plan job.yaml --deadline 7d', 'ferry plan job.yaml --rate 100MiB/s --json', 'ferry plan job.yaml --prices prices.yaml'],
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

/** Parses the command line (without `node` and the script) against {@link COMMANDS}. Pure: no env, no I/O. Throws UsageError. */
export function parseArgv(argv: readonly string[]): ParsedArgs {
  return parseCommandLine(argv, COMMANDS);
}

/** `ferry --help`. */
export function renderGeneralHelp(): string {
  return formatGeneralHelp(COMMANDS);
}

/** `ferry <command> --help`. */
export function renderCommandHelp(name: CommandName): string {
  return formatCommandHelp(COMMANDS.find((c) => c.name === name)!);
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
  approve: async () => (await import('./commands/approve')).approveCommand,
  reject: async () => (await import('./commands/reject')).rejectCommand,
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
  mark('modules loaded');
  main(process.argv.slice(2)).then(
    (code) => {
      mark('command done');
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
