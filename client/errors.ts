/**
 * The CLI's single mapping from errors to exit codes and one-line messages (DESIGN.md §2):
 * 0 = every object copied and verified, 1 = the job finished with failures (or an unexpected error),
 * 2 = bad usage or an invalid job file, 3 = the job could not run (credentials, access, missing bucket,
 * Temporal server unreachable or the job failed as a whole).
 */
import { FerryError, InvalidConfigError, errorMessage } from '../common/errors';

export const ExitCode = { ok: 0, failures: 1, usage: 2, cannotRun: 3, interrupted: 130 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown for a bad command line: unknown command or flag, missing argument, bad flag value. Exit 2. */
export class UsageError extends FerryError {
  override readonly name = 'UsageError';
  /** The command whose usage to point at (`ferry <command> --help`). */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** Thrown when the Temporal frontend cannot be reached (or answers nothing useful). Exit 3. */
export class ServerUnreachableError extends FerryError {
  override readonly name = 'ServerUnreachableError';
}

/** Thrown when a job (workflow) cannot be found, or is not in a state the command needs. Exit 3. */
export class JobStateError extends FerryError {
  override readonly name = 'JobStateError';
}

/** Thrown when a tool binary (the temporal CLI) cannot be found. Exit 3. */
export class ToolMissingError extends FerryError {
  override readonly name = 'ToolMissingError';
}

/** Error names (ours and those crossing Temporal as ApplicationFailure types) that mean "could not run". */
const CANNOT_RUN = new Set([
  'CredentialsError',
  'AccessDeniedError',
  'BucketNotFoundError',
  'ServerUnreachableError',
  'JobStateError',
  'ToolMissingError',
  'UnsupportedError',
  // The job workflow's failure type when it could not run as a whole (preflight: auth, bucket, credentials).
  'JobFailed',
]);

/** Exit code for an error that reached the CLI's error boundary. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof InvalidConfigError) return ExitCode.usage;
  const name = errorName(err);
  if (name === 'InvalidConfigError' || name === 'UsageError') return ExitCode.usage;
  if (CANNOT_RUN.has(name)) return ExitCode.cannotRun;
  return ExitCode.failures;
}

/** The error's stable name, looking through Temporal failures (`ApplicationFailure.type`) and causes. */
export function errorName(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    const anyE = e as { name?: string; type?: string | null; cause?: unknown };
    if (anyE.type && CANNOT_RUN.has(anyE.type)) return anyE.type;
    if (anyE.type === 'InvalidConfigError') return anyE.type;
    if (anyE.name && (CANNOT_RUN.has(anyE.name) || anyE.name === 'InvalidConfigError' || anyE.name === 'UsageError')) return anyE.name;
    e = anyE.cause;
  }
  return (err as { name?: string })?.name ?? 'Error';
}

/**
 * The text printed for an error: the message (every issue for an invalid job), plus where to look for usage.
 * Never a stack trace, unless `debug` (FERRY_DEBUG=1).
 */
export function formatError(err: unknown, debug = false): string {
  if (debug && err instanceof Error && err.stack) return `ferry: ${err.stack}${causeChain(err)}`;
  if (err instanceof InvalidConfigError) return `ferry: ${err.message}`;
  if (err instanceof UsageError) return `ferry: ${err.message}\nRun \`ferry ${err.command ? `${err.command} ` : ''}--help\` for usage.`;
  const base = deepestMessage(err);
  if (exitCodeFor(err) === ExitCode.failures && !(err instanceof FerryError)) return `ferry: unexpected error: ${base} (set FERRY_DEBUG=1 for details)`;
  return `ferry: ${base}`;
}

/** Temporal wraps failures (`WorkflowFailedError` → `ApplicationFailure` → …); the innermost message says why. */
function deepestMessage(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    const m = errorMessage(e);
    if (m && !parts.includes(m)) parts.push(m);
    e = (e as { cause?: unknown }).cause;
  }
  if (parts.length <= 1) return parts[0] ?? 'unknown error';
  // Workflow wrappers say only "Workflow execution failed"; keep the outer message when it adds something.
  const inner = parts[parts.length - 1]!;
  const outer = parts[0]!;
  return /^(Workflow execution failed|Activity task failed|Child Workflow execution failed)$/i.test(outer) ? inner : `${outer}: ${inner}`;
}

function causeChain(err: Error): string {
  let out = '';
  let e: unknown = err.cause;
  for (let depth = 0; e && depth < 6; depth++) {
    out += `\ncaused by: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}
