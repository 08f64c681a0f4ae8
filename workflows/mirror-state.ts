/**
 * Mirror mode's rules over the job's state, pure (no Temporal imports): which guard keeps deletions off, what a
 * diff leads to (nothing, deletions at once, or a wait for approval), the approve/reject rules, and the Web UI text.
 */
import { mirrorDeleteLimit, type JobSpec } from '../common/job';
import { JobPhase, type MirrorSummary } from '../common/progress';
import type { MirrorDeleteResult, MirrorDiffResult } from '../common/contracts';
import { formatBytes } from '../common/units';
import type { ApproveArgs } from './messages';

export const initialMirror = (): MirrorSummary => ({ stage: 'pending', deleted: 0, deletedBytes: 0, failed: 0 });

/** The job phase of a mirror stage that has one. */
export const MIRROR_PHASES: Partial<Record<MirrorSummary['stage'], JobPhase>> = {
  diffing: JobPhase.diffing,
  'awaiting-approval': JobPhase.awaitingApproval,
  deleting: JobPhase.deleting,
};

/**
 * Why deletions stay off before any listing for them: the job already failed (a listing or preflight error), or
 * tasks could not finish their key ranges. Undefined when the diff may run.
 */
export function mirrorBlocker(state: { error?: string; taskErrors: Record<string, string> }): string | undefined {
  if (state.error) return 'the copy did not complete (see the error): deleting nothing';
  const unfinished = Object.keys(state.taskErrors).length;
  if (unfinished) return `${unfinished} task(s) could not finish their key ranges: deleting nothing`;
  return undefined;
}

/** Ends the mirror step without deleting. */
export function skipMirror(m: MirrorSummary, stage: 'skipped' | 'failed', reason: string): void {
  m.stage = stage;
  m.reason = reason;
}

/**
 * Takes a diff's figures: `delete` at once (within the limit), `wait` for approval (over it), or `none` (nothing to
 * delete, an empty source, or rejected while the diff ran).
 */
export function applyDiff(m: MirrorSummary, diff: MirrorDiffResult, spec: Pick<JobSpec, 'mirror'>): 'delete' | 'wait' | 'none' {
  m.set = diff.set;
  m.sample = diff.sample;
  m.destinationObjects = diff.destinationObjects;
  m.protected = diff.protected;
  m.limit = mirrorDeleteLimit(spec.mirror, diff.destinationObjects);
  if (m.stage === 'rejected') return 'none';
  if (diff.sourceEmpty) {
    skipMirror(m, 'skipped', 'the source lists no object the job selects: an empty or unreadable source never empties the destination; deleting nothing');
    return 'none';
  }
  if (!diff.set.objects) {
    m.stage = 'done';
    return 'none';
  }
  if (diff.set.objects > m.limit) {
    m.stage = 'awaiting-approval';
    return 'wait';
  }
  m.approval = 'automatic';
  return 'delete';
}

/** Throws unless the job is a mirror job whose set awaits approval and `args.digest` (if given) is that set's. */
export function validateApproval(spec: Pick<JobSpec, 'name' | 'mode'>, m: MirrorSummary | undefined, args: ApproveArgs | undefined): void {
  if (spec.mode !== 'mirror') throw new Error(`job ${spec.name} is in ${spec.mode} mode: it deletes nothing, there is nothing to approve`);
  if (m?.stage !== 'awaiting-approval') throw new Error(`no deletion set of job ${spec.name} awaits approval (deletions: ${m?.stage ?? 'pending'})`);
  if (args?.digest !== undefined && args.digest !== m.set?.digest) {
    throw new Error(`the set awaiting approval (${m.set?.objects} objects, digest ${m.set?.digest.slice(0, 12)}) is not the one approved (digest ${args.digest.slice(0, 12)})`);
  }
}

/** Throws unless the job is a mirror job that has not started deleting. */
export function validateRejection(spec: Pick<JobSpec, 'name' | 'mode'>, m: MirrorSummary | undefined): void {
  if (spec.mode !== 'mirror') throw new Error(`job ${spec.name} is in ${spec.mode} mode: it deletes nothing, there is nothing to reject`);
  const stage = m?.stage ?? 'pending';
  if (stage !== 'pending' && stage !== 'diffing' && stage !== 'awaiting-approval') throw new Error(`the deletions of job ${spec.name} can no longer be rejected (deletions: ${stage})`);
}

export function approveMirror(m: MirrorSummary): void {
  m.stage = 'deleting';
  m.approval = 'approved';
}

export function rejectMirror(m: MirrorSummary): void {
  m.stage = 'rejected';
  m.reason = 'rejected with `ferry reject`: deleting nothing';
}

export function applyDeleteResult(m: MirrorSummary, r: MirrorDeleteResult): void {
  m.stage = 'done';
  m.deleted = r.deleted;
  m.deletedBytes = r.deletedBytes;
  m.failed = r.failed;
  if (r.deleteMarkers) m.deleteMarkers = true;
}

/** The status line of the deletions, e.g. `12 of 12 deleted (3.4 MiB)` or `awaiting approval: 40 objects over the limit of 10`. */
export function mirrorLine(m: MirrorSummary): string {
  const set = m.set ? `${m.set.objects} objects (${formatBytes(m.set.bytes)})` : '';
  switch (m.stage) {
    case 'pending':
      return 'deletions: after the copy';
    case 'diffing':
      return 'deletions: listing both sides for objects absent from the source';
    case 'awaiting-approval':
      return `deletions: ${set} absent from the source, over the limit of ${m.limit}: awaiting \`ferry approve\` or \`ferry reject\` (set ${m.set?.digest.slice(0, 12)})`;
    case 'deleting':
      return `deletions: deleting ${set}${m.approval === 'approved' ? ', approved' : ''}`;
    case 'done':
      return `deletions: ${m.deleted} deleted (${formatBytes(m.deletedBytes)})${m.failed ? `, ${m.failed} failed` : ''}${m.set ? ` of ${m.set.objects}` : ''}${m.protected ? `; ${m.protected} protected by filters` : ''}${m.deleteMarkers ? '; the destination keeps versions: delete markers were added' : ''}`;
    default:
      return `deletions ${m.stage}: ${m.reason ?? ''}${m.set && m.stage !== 'skipped' ? ` (set: ${set})` : ''}`;
  }
}

/** Web UI lines: the status line and, while a set awaits a decision, its first keys. */
export function mirrorDetails(m: MirrorSummary | undefined): string[] {
  if (!m) return [];
  const lines = ['', mirrorLine(m)];
  if (m.stage === 'awaiting-approval' && m.sample?.length) lines.push('', ...m.sample.map((k) => `- \`${JSON.stringify(k)}\``), '', 'every key: deletions.jsonl in the report folder');
  return lines;
}
