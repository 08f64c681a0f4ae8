/**
 * The CLI's view of jobs in Temporal: one `migrationJob` workflow per job, id `ferry-<name>`, input = the
 * JobSpec (first argument of every run, also after continue-as-new). Starting (or finding the running one),
 * describing, reading a run's input, its outcome, and the `progress` query with a deadline.
 */
import { WorkflowNotFoundError, WorkflowExecutionAlreadyStartedError, ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { WorkflowFailedError, type Client, type WorkflowHandle, type WorkflowExecutionStatusName } from '@temporalio/client';
import { jobWorkflowId, type JobSpec, type EndpointConfig } from '../common/job';
import { addVerifiedBy, emptyVerifiedBy, type JobProgress, type JobResult } from '../common/progress';
import type { BatchCheckpoint, TaskOutcome } from '../common/contracts';
import { FerryJob, FerryPhase } from '../common/search-attributes';
import { errorMessage } from '../common/errors';
import { childSignal } from '../common/signals';
import { JobStateError, ServerUnreachableError } from './errors';

/** Workflow type name of the job workflow (operators start it by this name with the temporal CLI). */
export const WORKFLOW_TYPE = 'migrationJob';

export interface JobExecution {
  workflowId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  startTime: Date;
  closeTime?: Date;
  /** First run of the continue-as-new chain (the job's own start). */
  firstRunId?: string;
  taskQueue: string;
}

/** Latest run of job `name`, or undefined when the job never ran here. */
export async function describeJob(client: Client, name: string): Promise<JobExecution | undefined> {
  const workflowId = jobWorkflowId(name);
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: d.runId, status: d.status.name, startTime: d.startTime, closeTime: d.closeTime, firstRunId: d.raw.workflowExecutionInfo?.firstRunId || undefined, taskQueue: d.taskQueue };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Like {@link describeJob}, but a missing job is an error that says how to run it. */
export async function requireJob(client: Client, name: string): Promise<JobExecution> {
  const d = await describeJob(client, name);
  if (!d) throw new JobStateError(`no job named "${name}" (workflow ${jobWorkflowId(name)}) on this Temporal namespace: start it with \`ferry run JOB.yaml\` or \`ferry start JOB.yaml\``);
  return d;
}

/** Decoded arguments of a run: the JobSpec and, after continue-as-new, the carried state. */
export async function runInput(client: Client, workflowId: string, runId: string): Promise<{ spec: JobSpec; carried?: { startedAt?: number } }> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const payloads = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  if (!payloads.length) throw new JobStateError(`workflow ${workflowId} (run ${runId}) has no input: it was not started by Ferry`);
  const spec = defaultPayloadConverter.fromPayload<JobSpec>(payloads[0] as Payload);
  const carried = payloads[1] ? defaultPayloadConverter.fromPayload<{ startedAt?: number }>(payloads[1] as Payload) : undefined;
  return { spec, carried: carried ?? undefined };
}

/** When the job's current chain of runs started (the carried start time survives continue-as-new). */
export async function chainStartTime(client: Client, d: JobExecution): Promise<number> {
  const { carried } = await runInput(client, d.workflowId, d.runId);
  return carried?.startedAt ?? d.startTime.getTime();
}

/** What a finished job ended with: its JobResult (also for a job that failed as a whole), or the failure. */
export interface Outcome {
  result?: JobResult;
  /** Set when the workflow ended without a JobResult (terminated, cancelled, timed out, unexpected failure). */
  error?: Error;
}

/** Waits for the job (following continue-as-new) and classifies how it ended. */
/** Whether `test` holds for the error or one of its causes (the client wraps gRPC errors: "Failed to query Workflow" ← "1 CANCELLED: …"). */
function anyCause(err: unknown, test: (code: number | undefined, message: string) => boolean): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (test((e as { code?: number }).code, errorMessage(e))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether an error means the Temporal frontend could not be reached (gRPC UNAVAILABLE, refused, dropped). */
export function serverUnavailable(err: unknown): boolean {
  return anyCause(err, (code, m) => code === 14 || /\bUNAVAILABLE\b|ECONNREFUSED|Connection dropped|connection refused/i.test(m));
}

/** How long a command that follows a job waits for a Temporal server that went away before it gives up (exit 3). */
export const SERVER_OUTAGE_PATIENCE_MS = 5 * 60_000;

/** How long `waitForOutcome` long-polls for the result under one signal before it starts over with a fresh one. */
export const RESULT_LEASE_MS = 10 * 60_000;

/**
 * `outcomeOf` under `signal`, riding out Temporal server outages (a restart, a failover): the job keeps its state
 * on the server, so waiting on is right. `onOutage` is called once per outage. After `patienceMs` without the server
 * it gives up with ServerUnreachableError (exit 3); the job is not affected and the same command attaches again.
 * The client leaves a listener on the signal of every result long poll (one per ~20 s, for days of a job), so the
 * polls run under a child signal that is replaced every `leaseMs`.
 */
export async function waitForOutcome(handle: WorkflowHandle, opts: { signal?: AbortSignal; patienceMs?: number; onOutage?: () => void; leaseMs?: number } = {}): Promise<Outcome> {
  let since: number | undefined;
  const leaseOver = new Error('result lease over');
  for (;;) {
    const lease = childSignal(opts.signal);
    const renew = setTimeout(() => lease.abort(leaseOver), opts.leaseMs ?? RESULT_LEASE_MS);
    try {
      return await handle.client.withAbortSignal(lease.signal, () => outcomeOf(handle));
    } catch (e) {
      if (lease.signal.reason === leaseOver && !opts.signal?.aborted) continue;
      if (!serverUnavailable(e) || opts.signal?.aborted) throw e;
      if (since === undefined) {
        since = performance.now();
        opts.onOutage?.();
      } else if (performance.now() - since > (opts.patienceMs ?? SERVER_OUTAGE_PATIENCE_MS)) {
        throw new ServerUnreachableError(
          `the Temporal server has been unreachable for ${Math.round((performance.now() - since) / 1000)} s (${errorMessage(e)}); the job keeps its state there — run the same command again once the server is back to attach`,
          { cause: e },
        );
      }
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      clearTimeout(renew);
      lease.release();
    }
  }
}

export async function outcomeOf(handle: WorkflowHandle): Promise<Outcome> {
  try {
    return { result: (await handle.result()) as JobResult };
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      const cause = e.cause;
      if (cause instanceof ApplicationFailure && cause.type === 'JobFailed') {
        const details = cause.details?.[0] as JobResult | undefined;
        if (details && typeof details === 'object' && 'status' in details) return { result: { ...details, status: 'failed', error: details.error ?? cause.message } };
      }
      const why = cause ? `${cause.constructor.name.replace(/Failure$/, '').toLowerCase() || 'failed'}: ${errorMessage(cause)}` : errorMessage(e);
      return { error: new JobStateError(`job workflow ${handle.workflowId} ended without a result (${why})`, { cause: e }) };
    }
    throw e;
  }
}

/**
 * The `progress` query with a deadline. Undefined when no worker answers in time (queries need a live
 * worker); other errors are thrown.
 */
export async function queryProgress(client: Client, handle: WorkflowHandle, timeoutMs = 5000): Promise<JobProgress | undefined> {
  let p: JobProgress;
  try {
    p = await client.connection.withDeadline(Date.now() + timeoutMs, () => handle.query<JobProgress>('progress'));
  } catch (e) {
    if (noWorkerAnswered(e)) return undefined;
    throw e;
  }
  return withInFlightTasks(client, p, timeoutMs);
}

/**
 * The job counts only finished tasks; live progress adds what in-flight tasks have done so far: their
 * finished batches (`taskProgress` query) and the running batch's last heartbeat (describe). Neither costs
 * workflow history. Best effort: a task that does not answer in time is left out of this snapshot.
 */
async function withInFlightTasks(client: Client, p: JobProgress, timeoutMs: number): Promise<JobProgress> {
  const ids = (p.inFlightTasks ?? []).slice(0, 32);
  if (!ids.length) return p;
  const objects = { ...p.objects };
  const bytes = { ...p.bytes };
  const verifiedBy = addVerifiedBy(emptyVerifiedBy(), p.verifiedBy);
  const keys = ['copied', 'skipped', 'failed', 'verified', 'excluded'] as const;
  const add = (c: Partial<Record<(typeof keys)[number], number>> | undefined, into: typeof objects) => {
    for (const k of keys) into[k] += c?.[k] ?? 0;
  };
  await Promise.all(
    ids.map(async (id) => {
      try {
        await client.connection.withDeadline(Date.now() + Math.min(timeoutMs, 3000), async () => {
          const h = client.workflow.getHandle(id);
          const [done, d] = await Promise.all([h.query<TaskOutcome>('taskProgress'), h.describe()]);
          add(done.objects, objects);
          add(done.bytes, bytes);
          addVerifiedBy(verifiedBy, done.verifiedBy);
          const data = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
          if (data) {
            const cp = JSON.parse(Buffer.from(data).toString()) as BatchCheckpoint;
            add(cp.objects, objects);
            add(cp.bytes, bytes);
            addVerifiedBy(verifiedBy, cp.verifiedBy);
          }
        });
      } catch {
        /* not answering right now: counted once it finishes */
      }
    }),
  );
  return { ...p, objects, bytes, verifiedBy };
}

/**
 * Whether an RPC failed because no worker took the request in time: DEADLINE_EXCEEDED, or the server's
 * FAILED_PRECONDITION "no poller seen for task queue recently" (looked for through the error's causes).
 */
/**
 * Whether a query or update ended because no worker took it: DEADLINE_EXCEEDED, "no poller", or CANCELLED (nobody
 * cancels these calls but the deadline; the server ends them so, shortly before it, when it gives up first).
 */
export function noWorkerAnswered(err: unknown): boolean {
  return anyCause(
    err,
    (code, m) => code === 4 || code === 1 || (code === 9 && /poller/i.test(m)) || /deadline exceeded|no poller seen|timed? ?out|\bcancell?ed\b/i.test(m),
  );
}

/** Whether any worker polled the job's task queue for workflow tasks recently (the server keeps ~5 minutes). */
export async function hasWorkflowPollers(client: Client, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW (@temporalio/proto is not a direct dependency)
  });
  return (res.pollers?.length ?? 0) > 0;
}

function describeEndpoint(e: EndpointConfig): string {
  if (e.type === 'fs') return `fs:${e.path}`;
  if (e.type === 'http') return `http list ${e.list}`;
  return `${e.type}://${e.bucket}/${e.prefix ?? ''}`;
}

/** The one-line Web UI summary and the Markdown details of a job (no secrets: profile names only). */
export function uiMetadata(spec: JobSpec): { staticSummary: string; staticDetails: string } {
  const summary = `${spec.mode === 'verify' ? 'verify' : 'copy'} ${describeEndpoint(spec.source)} → ${describeEndpoint(spec.destination)}`;
  const rows: [string, string][] = [
    ['source', `${describeEndpoint(spec.source)}${spec.source.endpoint ? ` at ${spec.source.endpoint}` : ''}${spec.source.credentials ? ` (profile ${spec.source.credentials})` : ''}`],
    ['destination', `${describeEndpoint(spec.destination)}${spec.destination.endpoint ? ` at ${spec.destination.endpoint}` : ''}${spec.destination.credentials ? ` (profile ${spec.destination.credentials})` : ''}`],
    ['mode', spec.mode],
    ['overwrite', spec.overwrite],
    ['verify', spec.verify],
  ];
  if (spec.filter.modifiedSince !== undefined) rows.push(['modified since', new Date(spec.filter.modifiedSince).toISOString()]);
  return {
    staticSummary: `${spec.name}: ${summary}`.slice(0, 200),
    staticDetails: ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | \`${v.replace(/`/g, "'")}\` |`)].join('\n'),
  };
}

/** Starts the job, or returns the running one (`started: false`) when `ferry-<name>` is already running. */
export async function startOrAttach(client: Client, spec: JobSpec, taskQueue: string): Promise<{ handle: WorkflowHandle; started: boolean; runId: string }> {
  const workflowId = jobWorkflowId(spec.name);
  try {
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [spec],
      typedSearchAttributes: [
        { key: FerryJob, value: spec.name },
        { key: FerryPhase, value: 'preflight' },
      ],
      ...uiMetadata(spec),
    });
    return { handle: client.workflow.getHandle(workflowId), started: true, runId: handle.firstExecutionRunId };
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      const d = await describeJob(client, spec.name);
      return { handle: client.workflow.getHandle(workflowId), started: false, runId: d?.runId ?? '' };
    }
    const msg = errorMessage(e);
    if (/search attribute|FerryJob|FerryPhase/i.test(msg)) {
      throw new ServerUnreachableError(
        `the Temporal namespace ${client.options.namespace} does not know Ferry's search attributes (${msg.split('\n')[0]}): register them once with ` +
          '`temporal operator search-attribute create --name FerryJob --type Keyword` and `… --name FerryPhase --type Keyword`',
        { cause: e },
      );
    }
    throw e;
  }
}

/** Fields of two specs that differ (for the "attached to a job started with other settings" warning). */
export function specDifferences(a: JobSpec, b: JobSpec): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(path);
  };
  walk(a, b, '');
  return out;
}
