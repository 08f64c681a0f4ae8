/**
 * The worker's last line against stray errors. An 'error' event nobody listens to, or a rejection nobody awaits,
 * ends a Node process by default — and with it every job the worker runs. Here such an error fails the activity
 * attempt it came from (found through AsyncLocalStorage: Node runs these handlers in the context of the code that
 * raised the error) and is logged with the workflow, activity and object key; Temporal then retries the attempt
 * from its heartbeat. One outside any attempt is logged and the process goes on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TransientError, errorMessage } from '../common/errors';

interface AttemptScope {
  /** Workflow id and activity type, e.g. `ferry-photos copyRange`. */
  attempt: string;
  /** The object being handled, when there is one. */
  key?: string;
  fail(error: Error): void;
}

const scopes = new AsyncLocalStorage<AttemptScope>();
let installed = false;

/**
 * Runs one activity attempt under the guard. `fn` gets a signal that aborts when a stray error fails the attempt;
 * the returned promise then rejects at once with a retryable error naming the stray one.
 */
export function runGuarded<T>(attempt: string, fn: (strayAbort: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let reject!: (e: Error) => void;
  const failed = new Promise<never>((_, r) => (reject = r));
  const fail = (error: Error) => {
    controller.abort(error);
    reject(error);
  };
  return scopes.run({ attempt, fail }, () => Promise.race([fn(controller.signal), failed]));
}

/** Runs `fn` as the handling of object `key` (so a stray error names it). */
export function forObject<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const scope = scopes.getStore();
  return scope ? scopes.run({ ...scope, key }, fn) : fn();
}

/** Installs the process-wide handlers (once per process). */
export function installStrayErrorGuard(log: (line: string) => void = (line) => console.error(line)): void {
  if (installed) return;
  installed = true;
  const onStray = (err: unknown) => {
    const scope = scopes.getStore();
    const object = scope?.key !== undefined ? ` handling ${JSON.stringify(scope.key)}` : '';
    if (!scope) {
      log(`ferry worker: stray error outside any activity, ignored: ${errorMessage(err)}`);
      return;
    }
    log(`ferry worker: stray error in ${scope.attempt}${object}, failing that attempt: ${errorMessage(err)}`);
    scope.fail(new TransientError(`stray error${object}: ${errorMessage(err)}`, { code: 'StrayError', cause: err }));
  };
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
}
