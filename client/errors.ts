/**
 * The CLI's single mapping from errors to exit codes ({@link ExitCode}) and one-line messages (DESIGN.md §2).
 * The code is data on the error class ({@link ErrorKind.exitCode}): 2 = bad usage or an invalid job file,
 * 3 = the job could not run (credentials, access, missing bucket, Temporal server unreachable or the job failed
 * as a whole), 1 for anything else.
 */
import { ExitCode, FERRY_ERROR_CLASSES, FerryError, InvalidConfigError, errorKindsByName, errorMessage } from '../common/errors';

export { ExitCode };

/** Thrown for a bad command line: unknown command or flag, missing argument, bad flag value. Exit 2. */
export class UsageError extends FerryError {
  static override readonly errorName: string = 'UsageError';
  static override readonly exitCode = ExitCode.usage;
  /** The command whose usage to point at (`ferry <command> --help`). */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** Thrown when the Temporal frontend cannot be reached (or answers nothing useful). Exit 3. */
export class ServerUnreachableError extends FerryError {
  static override readonly errorName: string = 'ServerUnreachableError';
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Thrown when a job (workflow) cannot be found, or is not in a state the command needs. Exit 3. */
export class JobStateError extends FerryError {
  static override readonly errorName: string = 'JobStateError';
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Thrown when a tool binary (the temporal CLI) cannot be found. Exit 3. */
export class ToolMissingError extends FerryError {
  static override readonly errorName: string = 'ToolMissingError';
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Ferry's error kinds and the CLI's, by name: for errors known only by name (`ApplicationFailure.type`). */
const KIND_BY_NAME = errorKindsByName([...FERRY_ERROR_CLASSES, UsageError, ServerUnreachableError, JobStateError, ToolMissingError]);

/**
 * Failure types raised by the workflows that no error class stands for: `JobFailed`, the job workflow's failure
 * when it could not run as a whole (preflight: auth, bucket, credentials).
 */
const WORKFLOW_FAILURE_EXIT_CODES: ReadonlyMap<string, ExitCode> = new Map([['JobFailed', ExitCode.cannotRun]]);

/**
 * Exit code for an error that reached the CLI's error boundary: that of the first error along the cause chain
 * (Temporal wraps failures: `WorkflowFailedError` → `ApplicationFailure` → …) whose class or name maps to a code
 * other than 1; else 1.
 */
export function exitCodeFor(err: unknown): ExitCode {
  return decisive(err)?.exitCode ?? ExitCode.failures;
}

/** The error's stable name, looking through Temporal failures and causes to the one {@link exitCodeFor} decides by. */
export function errorName(err: unknown): string {
  return decisive(err)?.name ?? (err as { name?: string } | undefined)?.name ?? 'Error';
}

/** The first error along the cause chain whose exit code is not the default (1): its name and code. */
function decisive(err: unknown): { name: string; exitCode: ExitCode } | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    if (e instanceof FerryError && e.exitCode !== ExitCode.failures) return { name: e.name, exitCode: e.exitCode };
    const { name, type, cause } = e as { name?: string; type?: string | null; cause?: unknown };
    for (const n of [type, name]) {
      const exitCode = n ? (KIND_BY_NAME.get(n)?.exitCode ?? WORKFLOW_FAILURE_EXIT_CODES.get(n)) : undefined;
      if (n && exitCode !== undefined && exitCode !== ExitCode.failures) return { name: n, exitCode };
    }
    e = cause;
  }
  return undefined;
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
    out += `\ncaused by: ${e instanceof Error ? (e.stack ?? e.message) : errorMessage(e)}`;
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}
