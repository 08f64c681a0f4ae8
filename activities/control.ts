/**
 * Live control of running batches: pause state and limits come from the job workflow's `control` query,
 * polled once per job per worker process (shared by all batches of that job), so `ferry throttle` and
 * `ferry pause` reach every in-flight batch within seconds at no history cost.
 */
import type { Client } from '@temporalio/client';
import type { ControlState } from '../workflows/messages';
import { childSignal } from '../common/signals';

/** Reads a job's control state; `signal` aborts the read (and any client retry of it). */
export type ControlSource = (jobWorkflowId: string, signal: AbortSignal) => Promise<ControlState | undefined>;

/**
 * Queries the job workflow, with a short deadline and under `signal`: an aborted call is never retried by
 * the client, so no retry timer outlives the worker (or the connection it shares). Returns undefined when the
 * query fails (no worker yet, job gone).
 */
export function queryControlSource(client: Client, timeoutMs = 3000): ControlSource {
  return async (jobWorkflowId, signal) => {
    if (signal.aborted) return undefined;
    // A signal per poll: the client's listener for this call then goes with it, not onto the job's signal (one
    // per poll for as long as the job runs here).
    const call = childSignal(signal);
    try {
      return await client.withAbortSignal(call.signal, () =>
        client.withDeadline(Date.now() + timeoutMs, () => client.workflow.getHandle(jobWorkflowId).query<ControlState>('control')),
      );
    } catch {
      return undefined;
    } finally {
      call.release();
    }
  };
}

interface Subscription {
  state: ControlState | undefined;
  listeners: Set<(s: ControlState) => void>;
  timer: NodeJS.Timeout | undefined;
  /** Aborted when the last listener leaves: stops an in-flight poll. */
  abort: AbortController;
}

/** Polls each job's control state while at least one batch of that job listens. */
export class ControlHub {
  private readonly subs = new Map<string, Subscription>();
  constructor(
    private readonly source: ControlSource | undefined,
    private readonly intervalMs = 2000,
  ) {}

  /** Calls `listener` with every new state; returns an unsubscribe function. Polls immediately once. */
  subscribe(jobWorkflowId: string, listener: (s: ControlState) => void): () => void {
    if (!this.source) return () => undefined;
    let sub = this.subs.get(jobWorkflowId);
    if (!sub) {
      sub = { state: undefined, listeners: new Set(), timer: undefined, abort: new AbortController() };
      this.subs.set(jobWorkflowId, sub);
      const s = sub;
      const poll = async () => {
        const state = await this.source!(jobWorkflowId, s.abort.signal);
        if (state) {
          s.state = state;
          for (const l of s.listeners) l(state);
        }
        if (s.listeners.size && !s.abort.signal.aborted) s.timer = setTimeout(poll, this.intervalMs);
        else s.timer = undefined;
      };
      s.timer = setTimeout(poll, 0);
    } else if (sub.state) listener(sub.state);
    sub.listeners.add(listener);
    const s = sub;
    return () => {
      s.listeners.delete(listener);
      if (!s.listeners.size) {
        if (s.timer) clearTimeout(s.timer);
        s.abort.abort();
        this.subs.delete(jobWorkflowId);
      }
    };
  }
}
