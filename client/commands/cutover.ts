/**
 * `ferry cutover JOB.yaml [--threshold N] [--every D] [--back-to-origin [--origin-url URL]] [--detach]` starts (or
 * attaches to) the cut-over workflow `ferry-<name>-cutover` (workflows/cutover.ts) and follows its phases with an
 * in-process worker, like `ferry run`. `ferry cutover NAME --switched | --retry | --abort` answers a running one
 * with the Update of that name (the signal of the same name when no worker answers right now).
 */
import { WorkflowNotFoundError, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { jobRef, jobNameOf, readJobFile } from '../job-file';
import { describeJob, hasWorkflowPollers, noWorkerAnswered, outcomeOf, runInput, uiMetadata } from '../jobs';
import { openSession, startSessionWorker, withSession, type Session } from '../runner';
import type { InProcessWorker } from '../in-process-worker';
import { ExitCode, JobStateError, UsageError } from '../errors';
import { followCutover, renderResult, type CutoverEnd } from '../cutover-follow';
import { INCREMENTAL_SINCE_MARGIN_MS, jobWorkflowId, type JobSpec } from '../../common/job';
import { defaultOriginUrl } from '../../common/origin-url';
import { errorMessage } from '../../common/errors';
import { FerryJob, FerryPhase } from '../../common/search-attributes';
import { CutoverPhase, DEFAULT_CUTOVER_EVERY_MS, DEFAULT_CUTOVER_THRESHOLD, cutoverWorkflowId, type CutoverInput, type CutoverView } from '../../workflows/cutover-state';

/** Workflow type of the cut-over (operators start it by this name with the temporal CLI). */
export const CUTOVER_WORKFLOW_TYPE = 'cutover';

export async function cutoverCommand(opts: CliOptions, io: Io): Promise<number> {
  if (opts.switched || opts.retry || opts.abort) return answerCutover(opts, io);
  const ref = jobRef(opts.job!, 'cutover');
  const spec = ref.kind === 'file' ? readJobFile(ref.path) : undefined; // invalid file: exit 2 before any server starts
  const name = spec?.name ?? (ref.kind === 'name' ? ref.name : '');
  const input = spec ? cutoverInput(spec, opts) : undefined;
  if (!opts.detach) return runCutoverHere(name, input, opts, io);
  return withSession(opts, io, 'connect', async (s) => {
    const { started, workflowId } = await startOrAttachCutover(s, name, input);
    if (opts.json) io.out(JSON.stringify({ workflowId, started, address: s.settings.address, namespace: s.settings.namespace }, null, 2));
    else info(io, false)(`${started ? 'Started' : 'Already running:'} ${workflowId} on ${s.settings.address}; \`ferry cutover ${name}\` follows it.`);
    return ExitCode.ok;
  });
}

/** The workflow input from the job and the flags; back-to-origin needs a URL before anything starts. */
export function cutoverInput(spec: JobSpec, opts: Pick<CliOptions, 'threshold' | 'every' | 'backToOrigin' | 'originUrl'>): CutoverInput {
  const input: CutoverInput = { spec, threshold: opts.threshold ?? DEFAULT_CUTOVER_THRESHOLD, everyMs: opts.every ?? DEFAULT_CUTOVER_EVERY_MS };
  if (!opts.backToOrigin) return input;
  const originUrl = opts.originUrl ?? defaultOriginUrl(spec.source);
  if (!originUrl) throw new UsageError(`--back-to-origin: a ${spec.source.type} source has no URL the destination could fetch from; give --origin-url URL`, 'cutover');
  return { ...input, backToOrigin: { originUrl } };
}

/** modifiedSince of round 1: when the job's last run started (minus the overlap), if that run copied and fully succeeded. */
async function firstSince(s: Session, name: string): Promise<number | undefined> {
  const prev = await describeJob(s.client, name);
  if (prev?.status === 'RUNNING') throw new JobStateError(`job ${name} is running (${prev.workflowId}): wait for it (\`ferry watch ${name}\`) before a cut-over`);
  if (prev?.status !== 'COMPLETED') return undefined;
  const { spec, carried } = await runInput(s.client, prev.workflowId, prev.runId);
  const outcome = await outcomeOf(s.client.workflow.getHandle(prev.workflowId));
  if (spec.mode !== 'copy' || outcome.result?.status !== 'succeeded') return undefined;
  return (carried?.startedAt ?? prev.startTime.getTime()) - INCREMENTAL_SINCE_MARGIN_MS;
}

/** Attaches to the running cut-over of `name`, or starts one (needs the job file's input). */
async function startOrAttachCutover(s: Session, name: string, input: CutoverInput | undefined): Promise<{ handle: WorkflowHandle; started: boolean; workflowId: string }> {
  const workflowId = cutoverWorkflowId(name);
  const handle = s.client.workflow.getHandle(workflowId);
  const running = await handle.describe().then(
    (d) => d.status.name === 'RUNNING',
    (e: unknown) => {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    },
  );
  if (running) return { handle, started: false, workflowId };
  if (!input) throw new JobStateError(`no cut-over of ${name} is running (${workflowId}): start one with \`ferry cutover JOB.yaml\``);
  const since = await firstSince(s, name);
  try {
    await s.client.workflow.start(CUTOVER_WORKFLOW_TYPE, {
      taskQueue: s.settings.taskQueue,
      workflowId,
      args: [{ ...input, ...(since !== undefined ? { firstSince: since } : {}) }],
      typedSearchAttributes: [{ key: FerryJob, value: name }, { key: FerryPhase, value: CutoverPhase.converging }],
      staticSummary: `${name}: cut-over (rounds as ${jobWorkflowId(name)})`.slice(0, 200),
      staticDetails: uiMetadata(input.spec).staticDetails,
    });
    return { handle, started: true, workflowId };
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return { handle, started: false, workflowId };
    throw e;
  }
}

/** Like `ferry run`: the session's server, an in-process worker, follow the phases until the cut-over ends. */
async function runCutoverHere(name: string, input: CutoverInput | undefined, opts: CliOptions, io: Io): Promise<number> {
  const say = info(io, opts.json);
  const session = await openSession(opts, io, 'run');
  let worker: InProcessWorker | undefined;
  try {
    worker = opts.noWorker ? undefined : await startSessionWorker(session, opts, io);
    const { handle, started, workflowId } = await startOrAttachCutover(session, name, input);
    say(`${started ? 'Started' : 'Attached to'} cut-over ${workflowId}; its rounds run as ${jobWorkflowId(name)} (\`ferry status ${name}\`).`);
    if (session.embedded) say(`Web UI: ${session.embedded.uiUrl}/namespaces/${session.settings.namespace}/workflows/${encodeURIComponent(workflowId)}`);
    const end = await followCutover(session.client, handle, io, {
      json: opts.json,
      intervalMs: opts.interval,
      worker: worker?.running,
      signal: session.signal,
      onInterrupt: () => io.err(`\nDetaching from ${workflowId}: stopping the worker…`),
    });
    return closing(end, name, workflowId, opts, io);
  } finally {
    await worker?.shutdown();
    await session.end();
  }
}

function closing(end: CutoverEnd, name: string, workflowId: string, opts: CliOptions, io: Io): number {
  if (end.kind === 'error') throw end.error;
  if (end.kind === 'interrupted') {
    const hint = `The cut-over ${workflowId} keeps its state in Temporal${opts.noWorker ? ' and goes on on the other workers' : ' (it goes on while a worker runs)'}. Run \`ferry cutover ${opts.job}\` again to attach.`;
    if (opts.json) io.out(JSON.stringify({ name, workflowId, status: 'detached', hint }, null, 2));
    else io.out(hint);
    return ExitCode.interrupted;
  }
  if (!end.result) throw end.error ?? new JobStateError(`the cut-over ${workflowId} ended without a result`);
  if (opts.json) io.out(JSON.stringify({ workflowId, ...end.result }, null, 2));
  else io.out(renderResult(end.result));
  return end.result.status === 'complete' ? ExitCode.ok : ExitCode.failures;
}

const ANSWERS = {
  switched: { message: 'cutoverSwitched', done: 'Switched: the cut-over copies the final delta and verifies every object now.' },
  retry: { message: 'cutoverRetry', done: 'Retrying: the cut-over copies what differs, then verifies again.' },
  abort: { message: 'cutoverAbort', done: 'Abort requested: the running round is cancelled and back-to-origin undone; no data is deleted.' },
} as const;

/** `--switched`, `--retry`, `--abort`: the Update (acknowledged, validated), or the signal when no worker answers. */
async function answerCutover(opts: CliOptions, io: Io): Promise<number> {
  const action = opts.switched ? 'switched' : opts.retry ? 'retry' : 'abort';
  const { message, done } = ANSWERS[action];
  const name = jobNameOf(opts.job!, 'cutover');
  const say = info(io, opts.json);
  return withSession(opts, io, 'operate', async (s) => {
    const workflowId = cutoverWorkflowId(name);
    const handle = s.client.workflow.getHandle(workflowId);
    const d = await handle.describe().catch((e: unknown) => {
      throw e instanceof WorkflowNotFoundError ? new JobStateError(`no cut-over of ${name} here (${workflowId}): start one with \`ferry cutover JOB.yaml\``) : e;
    });
    if (d.status.name !== 'RUNNING') throw new JobStateError(`the cut-over of ${name} is not running (${d.status.name.toLowerCase()}): nothing to answer`);
    let view: CutoverView | undefined;
    if (await hasWorkflowPollers(s.client, d.taskQueue).catch(() => true)) {
      try {
        view = await s.connection.withDeadline(Date.now() + 10_000, () => handle.executeUpdate<CutoverView, []>(message));
      } catch (e) {
        if (e instanceof WorkflowUpdateFailedError) throw new JobStateError(`the cut-over refused --${action}: ${errorMessage(e.cause ?? e)}`);
        if (!noWorkerAnswered(e)) throw e;
      }
    }
    if (!view) await handle.signal(message);
    if (opts.json) io.out(JSON.stringify({ workflowId, action, applied: view ? 'update' : 'signal', ...(view ? { state: view } : {}) }, null, 2));
    else say(view ? `${done} (phase ${view.phase})` : `No worker is running ${workflowId} right now; sent \`${message}\` as a signal: it applies as soon as a worker runs the cut-over.`);
    return ExitCode.ok;
  });
}
