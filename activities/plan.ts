/**
 * `preflight` (fail fast, clearly) and `planTasks` (list the source in order and cut it into key-range tasks of
 * at most `tasks.maxObjects` objects / `tasks.maxBytes` bytes). Planning heartbeats its listing cursor.
 */
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PlanTasksInput, PlanTasksResult, PreflightResult, QuirksReport, TaskPlan } from '../common/contracts';
import type { JobSpec, EndpointConfig } from '../common/job';
import type { ActivityContext } from './context';
import type { ListPage, ObjectProvider } from '../storage/provider';
import { probeQuirks } from './quirks-probe';
import { jobSource, versionsRefusal } from './versions-copy';
import { listPage } from './range';
import { listsFromReport } from '../storage/inventory/open';
import { AccessDeniedError, BucketNotFoundError, CredentialsError, FerryError, InvalidConfigError, errorMessage } from '../common/errors';

/** Name prefix of the zero-byte object preflight writes and removes to prove write permission. */
export const PREFLIGHT_PROBE = '.ferry-preflight-';

/** Source entries listed per planning call before it returns what it has (keeps one call short). */
const PLAN_LIST_BUDGET = 50_000;

function describeEndpoint(e: EndpointConfig): string {
  if (e.type === 'fs') return `fs ${e.path}`;
  if (e.type === 'http') return `http list ${e.list}`;
  return `${e.type}://${e.bucket}${e.prefix ? `/${e.prefix}` : ''}${e.endpoint ? ` at ${e.endpoint}` : ''}${e.credentials ? ` (credentials "${e.credentials}")` : ''}`;
}

/** Job-fatal errors become non-retryable failures whose message says which side and what to fix. */
function fatal(side: 'source' | 'destination', e: EndpointConfig, err: unknown): never {
  const what = describeEndpoint(e);
  let hint = '';
  if (err instanceof BucketNotFoundError) hint = e.type === 'fs' ? ' — check the path' : ' — create the bucket or fix the name/endpoint';
  else if (err instanceof AccessDeniedError) hint = ' — check the credential profile and its permissions';
  else if (err instanceof CredentialsError) hint = '';
  const type = err instanceof FerryError ? err.name : 'PreflightError';
  throw ApplicationFailure.create({ type, nonRetryable: err instanceof FerryError && !err.retryable, message: `${side} ${what}: ${errorMessage(err)}${hint}` });
}

/** Probes one side's quirks (≤ 2 LISTs); failures are that side's job-fatal errors. */
async function sideQuirks(side: 'source' | 'destination', p: ObjectProvider, e: EndpointConfig, signal: AbortSignal): Promise<QuirksReport | undefined> {
  // A side listed from an inventory report is never LISTed: nothing to probe.
  if (listsFromReport(e)) return undefined;
  try {
    return await probeQuirks(p, e, signal);
  } catch (err) {
    fatal(side, e, err);
  }
}

/** The preflight result with both sides' quirks; their notes become warnings naming the side. */
async function withQuirks(result: PreflightResult, job: JobSpec, src: ObjectProvider, dst: ObjectProvider, signal: AbortSignal): Promise<PreflightResult> {
  const source = await sideQuirks('source', src, job.source, signal);
  const destination = await sideQuirks('destination', dst, job.destination, signal);
  for (const [side, r] of [['source', source], ['destination', destination]] as const) for (const n of r?.notes ?? []) result.warnings.push(`${side}: ${n}`);
  return source || destination ? { ...result, quirks: { source, destination } } : result;
}

export async function preflight(ctx: ActivityContext, job: JobSpec): Promise<PreflightResult> {
  const signal = Context.current().cancellationSignal;
  const warnings: string[] = [];
  let src, dst;
  try {
    src = ctx.provider(job.source);
  } catch (e) {
    fatal('source', job.source, e);
  }
  try {
    dst = ctx.provider(job.destination);
  } catch (e) {
    fatal('destination', job.destination, e);
  }
  let seen = 0;
  try {
    seen = (await listPage(src, 'source', { prefix: job.source.prefix, limit: 1, signal })).objects.length;
  } catch (e) {
    fatal('source', job.source, e);
  }
  if (seen === 0) warnings.push(`the source ${describeEndpoint(job.source)} lists no objects`);
  const refused = job.versions === 'all' ? await versionsRefusal(src, dst, job.mode !== 'verify', signal).catch((e: unknown) => fatal('destination', job.destination, e)) : undefined;
  if (refused) fatal(refused.side, refused.side === 'source' ? job.source : job.destination, refused.error);
  if (job.mode === 'verify') {
    try {
      await listPage(dst, 'destination', { prefix: job.destination.prefix, limit: 1, signal });
    } catch (e) {
      fatal('destination', job.destination, e);
    }
    return withQuirks({ sourceObjectsSeen: seen, warnings }, job, src, dst, signal);
  }
  if (!dst.capabilities.writable) fatal('destination', job.destination, new InvalidConfigError([`destination.type: ${dst.type} is read-only`]));
  // Write permission: put and remove a zero-byte probe under the destination prefix.
  const probe = `${job.destination.prefix ?? ''}${PREFLIGHT_PROBE}${randomBytes(6).toString('hex')}`;
  try {
    const probed = await dst.put(probe, Buffer.alloc(0), { size: 0, signal });
    // In a versioned bucket, the probe's own version goes (a plain delete would leave it behind a delete marker).
    await dst.delete?.(probe, { signal, ...(probed.versionId ? { versionId: probed.versionId } : {}) });
  } catch (e) {
    fatal('destination', job.destination, e);
  }
  return withQuirks({ sourceObjectsSeen: seen, warnings }, job, src, dst, signal);
}

export async function planTasks(ctx: ActivityContext, input: PlanTasksInput): Promise<PlanTasksResult> {
  const actx = Context.current();
  const src = jobSource(ctx.provider(input.job.source), input.job);
  const { maxObjects, maxBytes } = input.job.tasks;
  const tasks: TaskPlan[] = [];
  let cursor = input.cursor;
  let startAfter = input.cursor;
  let cur: { objects: number; bytes: number; last?: string } = { objects: 0, bytes: 0 };
  let listedObjects = 0;
  let listedBytes = 0;
  const close = () => {
    if (!cur.objects) return;
    tasks.push({ n: input.firstTask + tasks.length, range: { startAfter, last: cur.last! }, objects: cur.objects, bytes: cur.bytes });
    startAfter = cur.last;
    cursor = cur.last;
    cur = { objects: 0, bytes: 0 };
  };
  // A call that lists the rest of the source, when that is at most ctx.plannedPages.maxEntries keys (a small job, or
  // the tail of a large one), leaves its pages to the batches that start next on this worker (see PlannedPages).
  // The pages of a large listing would be held long before their tasks start, if they ever start here.
  let pages: { after: string | undefined; page: ListPage }[] | undefined = [];
  let after = input.cursor;
  for (;;) {
    const page = await listPage(src, 'source', { prefix: input.job.source.prefix, startAfter: after, limit: 1000, signal: actx.cancellationSignal });
    if (pages && listedObjects + page.objects.length <= ctx.plannedPages.maxEntries) pages.push({ after, page });
    else pages = undefined;
    for (const o of page.objects) {
      if (cur.objects > 0 && (cur.objects + 1 > maxObjects || cur.bytes + o.size > maxBytes)) {
        close();
        if (tasks.length >= input.maxTasks) return { tasks, cursor, done: false, listedObjects, listedBytes };
      }
      cur.objects++;
      cur.bytes += o.size;
      cur.last = o.position;
      listedObjects++;
      listedBytes += o.size;
    }
    actx.heartbeat({ after: page.next, listedObjects });
    if (!page.next) {
      close();
      for (const p of pages ?? []) ctx.plannedPages.keep(input.job.name, src, input.job.source.prefix, p.after, p.page);
      return { tasks, cursor, done: true, listedObjects, listedBytes };
    }
    after = page.next;
    if (listedObjects >= PLAN_LIST_BUDGET && tasks.length > 0) {
      // Return whole tasks only: the open one is re-listed by the next call from `cursor`.
      listedObjects -= cur.objects;
      listedBytes -= cur.bytes;
      return { tasks, cursor, done: false, listedObjects, listedBytes };
    }
  }
}
