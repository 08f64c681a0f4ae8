/**
 * `mirrorDelete`: deletes the approved set, and only it. It walks both listings again and recomputes the set;
 * when its count, bytes or digest differ from what was approved it stops with MirrorSetChangedError, deleting
 * nothing more. Then it deletes those keys in key order, a window at a time, and records each deletion once in
 * mirror/deleted.jsonl:
 * - before a window's requests go out, its keys are written to mirror/inflight.json;
 * - after them, one record per key is appended, then the cursor (last key, digest so far, counts) is heartbeated.
 * A successor of a killed attempt takes what was recorded or in flight past the cursor and asks the destination's
 * listing which of those keys are gone: those were deleted (recorded once, not sent again), the others are still
 * to delete. So no deletion is lost from the record or recorded twice, and none is made outside the set.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { promises as fsp } from 'node:fs';
import type { MirrorDeleteInput, MirrorDeleteResult, MirrorSet } from '../common/contracts';
import type { ObjectProvider } from '../storage/provider';
import { compareKeys } from '../common/keys';
import { FerryError, MirrorSetChangedError, NotFoundError, errorClass, errorMessage } from '../common/errors';
import { retryBounded } from '../common/retry';
import type { ActivityContext } from './context';
import { OBJECT_ATTEMPTS } from './batch';
import { ABSENT_FROM_SOURCE, chainDigest, requireMirrorable, walkMirror } from './mirror-walk';
import { appendLines, cutAfter, mirrorFiles, readLines, writeAtomically, type DeletionRecord, type SetLine } from './mirror-log';
import { emptySet, mirrorRunDir, MIRROR_CHECKPOINT_EVERY } from './mirror';

/** Deletions sent at once. */
const DELETE_WINDOW = 16;

/** Heartbeat details of `mirrorDelete`: every key up to `after` is deleted and recorded. */
interface DeleteCheckpoint extends MirrorDeleteResult {
  after?: string;
  /** The set's running digest, count and bytes up to `after`. */
  walked: MirrorSet;
}

/** A key of the recomputed set: still to delete, or (`record`) deleted by an earlier attempt. */
interface Pending extends SetLine {
  record?: DeletionRecord;
}

type Files = ReturnType<typeof mirrorFiles>;

export async function mirrorDelete(ctx: ActivityContext, input: MirrorDeleteInput): Promise<MirrorDeleteResult> {
  const actx = Context.current();
  const signal = actx.cancellationSignal;
  const { job } = input;
  const src = ctx.provider(job.source);
  const dst = ctx.provider(job.destination);
  requireMirrorable(src, dst);
  const files = mirrorFiles(mirrorRunDir(ctx, job, input.runTag));
  const cp: DeleteCheckpoint = (actx.info.heartbeatDetails as DeleteCheckpoint | undefined) ?? { walked: emptySet(), deleted: 0, deletedBytes: 0, failed: 0, deleteMarkers: 0 };
  const sent = await sentPastCursor(files, cp.after);
  const { set, gone } = await recomputeSet(src, dst, input, cp, sent, files.pending, () => actx.heartbeat(structuredClone(cp)));
  if (set.objects !== input.approved.objects || set.bytes !== input.approved.bytes || set.digest !== input.approved.digest) {
    // Keep the record of what an earlier attempt did delete, then stop.
    appendLines(files.deleted, gone);
    await fsp.rm(files.inflight, { force: true });
    for (const r of gone) countRecord(cp, r);
    const changed = new MirrorSetChangedError(
      `the destination objects absent from the source are no longer the set found (${input.approved.objects} objects, ${input.approved.bytes} bytes): ` +
        `now ${set.objects} objects, ${set.bytes} bytes; nothing more was deleted. Run the job again to list and decide anew`,
    );
    // The deletions earlier attempts made travel with the failure (the workflow reports them).
    throw ApplicationFailure.create({ type: changed.name, message: changed.message, nonRetryable: true, details: [resultOf(cp)] });
  }
  const window: Pending[] = [];
  let carried = gone;
  const flush = async () => {
    carried = await deleteWindow(dst, window.splice(0), carried, cp, files, signal);
    actx.heartbeat(structuredClone(cp));
  };
  for await (const p of readLines<Pending>(files.pending)) {
    window.push(p);
    if (window.length >= DELETE_WINDOW) await flush();
  }
  if (window.length) await flush();
  await Promise.all([fsp.rm(files.pending, { force: true }), fsp.rm(files.inflight, { force: true })]);
  return resultOf(cp);
}

const resultOf = (cp: DeleteCheckpoint): MirrorDeleteResult => ({ deleted: cp.deleted, deletedBytes: cp.deletedBytes, failed: cp.failed, deleteMarkers: cp.deleteMarkers });

function countRecord(cp: DeleteCheckpoint, r: DeletionRecord): void {
  if (r.status === 'failed') cp.failed++;
  else {
    cp.deleted++;
    cp.deletedBytes += r.size;
    if (r.deleteMarker) cp.deleteMarkers++;
  }
}

/**
 * What an earlier attempt sent past the cursor: its records there (cut from the file, to be appended again in
 * order) and its in-flight keys, kept in inflight.json before the record file is cut.
 */
async function sentPastCursor(files: Files, after: string | undefined): Promise<DeletionRecord[]> {
  const inflight = await fsp.readFile(files.inflight, 'utf8').then(
    (t) => JSON.parse(t) as DeletionRecord[],
    () => [] as DeletionRecord[],
  );
  const byKey = new Map(inflight.filter((r) => after === undefined || compareKeys(r.key, after) > 0).map((r) => [r.key, r]));
  await cutAfter<DeletionRecord>(files.deleted, after, (past) => {
    for (const r of past) byKey.set(r.key, r);
    writeAtomically(files.inflight, JSON.stringify([...byKey.values()]));
  });
  return [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
}

/**
 * Walks both listings after the cursor and writes the set's remaining keys to `pendingFile`, in key order. Keys an
 * earlier attempt sent that the destination no longer lists were deleted: they stay in the set with their record
 * (`gone`). Returns the whole set's count, bytes and digest (from the cursor's figures on).
 */
async function recomputeSet(
  src: ObjectProvider,
  dst: ObjectProvider,
  input: MirrorDeleteInput,
  cp: DeleteCheckpoint,
  sent: DeletionRecord[],
  pendingFile: string,
  beat: () => void,
): Promise<{ set: MirrorSet; gone: DeletionRecord[] }> {
  let set = { ...cp.walked };
  const gone: DeletionRecord[] = [];
  let lines: Pending[] = [];
  await fsp.rm(pendingFile, { force: true });
  const add = (p: Pending) => {
    set = { objects: set.objects + 1, bytes: set.bytes + p.size, digest: chainDigest(set.digest, p.key, p.size) };
    lines.push(p);
    if (p.record) gone.push(p.record);
  };
  const passGone = (upTo: string | undefined) => {
    while (sent.length && (upTo === undefined || compareKeys(sent[0]!.key, upTo) < 0)) {
      const r = sent.shift()!;
      add({ key: r.key, size: r.size, reason: r.reason, record: r });
    }
  };
  let walked = 0;
  for await (const e of walkMirror(src, dst, input.job, { after: cp.after, sourceSelected: 0 }, Context.current().cancellationSignal)) {
    passGone(e.key);
    if (sent[0]?.key === e.key) sent.shift(); // still listed: not deleted yet
    if (e.kind === 'delete') add({ key: e.key, size: e.size, reason: ABSENT_FROM_SOURCE });
    if (++walked % MIRROR_CHECKPOINT_EVERY === 0) {
      appendLines(pendingFile, lines);
      lines = [];
      beat();
    }
  }
  passGone(undefined);
  appendLines(pendingFile, lines);
  return { set, gone };
}

/** Deletes one window's keys (those not deleted yet), records every key of it, and moves the cursor past it. */
async function deleteWindow(dst: ObjectProvider, window: Pending[], carried: DeletionRecord[], cp: DeleteCheckpoint, files: Files, signal: AbortSignal): Promise<DeletionRecord[]> {
  const last = window[window.length - 1]!.key;
  const rest = carried.filter((r) => compareKeys(r.key, last) > 0);
  const at = new Date().toISOString();
  const todo = window.filter((p) => !p.record);
  writeAtomically(files.inflight, JSON.stringify([...rest, ...todo.map((p) => ({ key: p.key, size: p.size, reason: p.reason, status: 'deleted', at }))]));
  const outcomes = await Promise.all(todo.map((p) => deleteOne(dst, p, at, signal)));
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
  const byKey = new Map(outcomes.map((o) => [o.record.key, o.record]));
  const records = window.map((p) => p.record ?? byKey.get(p.key)!);
  appendLines(files.deleted, records);
  for (const r of records) {
    cp.walked = { objects: cp.walked.objects + 1, bytes: cp.walked.bytes + r.size, digest: chainDigest(cp.walked.digest, r.key, r.size) };
    countRecord(cp, r);
  }
  cp.after = last;
  const fatal = outcomes.find((o) => o.fatal !== undefined);
  if (fatal) throw fatal.fatal;
  return rest;
}

/** Deletes one key; a key already gone counts as deleted, a refusal is recorded (and a job-fatal one returned as `fatal`). */
async function deleteOne(dst: ObjectProvider, p: Pending, at: string, signal: AbortSignal): Promise<{ record: DeletionRecord; fatal?: unknown }> {
  const base = { key: p.key, size: p.size, reason: p.reason, at };
  try {
    const res = await retryBounded({ operation: 'delete', bucket: dst.bucket, key: p.key }, () => dst.delete!(p.key, { signal }), { attempts: OBJECT_ATTEMPTS, baseMs: 1000, signal });
    return { record: { ...base, status: 'deleted', ...(res?.versionId ? { deleteMarker: res.versionId } : {}) } };
  } catch (e) {
    if (e instanceof NotFoundError) return { record: { ...base, status: 'deleted' } };
    const record: DeletionRecord = { ...base, status: 'failed', error: errorMessage(e), errorClass: errorClass(e) };
    return e instanceof FerryError && e.jobFatal ? { record, fatal: e } : { record };
  }
}
