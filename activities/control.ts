/**
 * Live control of running batches: pause state and limits come from the job workflow's `control` query,
 * polled once per job per worker process (shared by all batches of that job), so `ferry throttle` and
 * `ferry pause` reach every in-flight batch within seconds at no history cost.
 */
import type { Client } from '@temporalio/client';
import type { ControlState } from '../workflows/messages';

export type ControlSource = (jobWorkflowId: string) => Promise<ControlState | undefined>;

/** Queries the job workflow. Returns undefined when the query fails (no worker yet, job gone). */
export function queryControlSource(client: Client): ControlSource {
  return async (jobWorkflowId) => {
    try {
      return await client.workflow.getHandle(jobWorkflowId).query<ControlState>('control');
    } catch {
      return undefined;
    }
  };
}

interface Subscription {
  state: ControlState | undefined;
  listeners: Set<(s: ControlState) => void>;
  timer: NodeJS.Timeout | undefined;
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
      sub = { state: undefined, listeners: new Set(), timer: undefined };
      this.subs.set(jobWorkflowId, sub);
      const s = sub;
      const poll = async () => {
        const state = await this.source!(jobWorkflowId);
        if (state) {
          s.state = state;
          for (const l of s.listeners) l(state);
        }
        if (s.listeners.size) s.timer = setTimeout(poll, this.intervalMs);
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
        this.subs.delete(jobWorkflowId);
      }
    };
  }
}
