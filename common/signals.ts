/**
 * Abort signals that live for one operation under a longer-lived one. Some APIs add an abort listener to the
 * signal of every call and never remove it — the Temporal client does, for each RPC under `withAbortSignal`, and
 * each listener keeps its finished call (~15 KB) reachable. Such calls get a child signal of their own, released
 * when they end, so the long-lived signal (a job's control poll, the CLI's follow loop) never accumulates them.
 */
import { setMaxListeners } from 'node:events';

export interface ChildSignal {
  /** Aborts when the parent does (with its reason), or on `abort`. */
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Unhooks the child from its parent; call it when the operation ends. */
  release(): void;
}

/** A signal that follows `parent` (none: only `abort`), allowed `listeners` listeners without a leak warning. */
export function childSignal(parent: AbortSignal | undefined, listeners = 10): ChildSignal {
  const controller = new AbortController();
  setMaxListeners(listeners, controller.signal);
  const follow = () => controller.abort(parent?.reason);
  if (parent?.aborted) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  return { signal: controller.signal, abort: (reason) => controller.abort(reason), release: () => parent?.removeEventListener('abort', follow) };
}
