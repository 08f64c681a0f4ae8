/**
 * `mirrorDiff`: mirror mode's deletion set, found by one merged walk over both sides' listings (mirror-walk.ts)
 * after the copy. The set goes to the run's report folder (mirror/set.jsonl, and deletions.jsonl for readers);
 * the workflow gets counts and a digest only, whatever the set's size. The walk heartbeats its cursor, so a
 * killed worker's successor continues the walk and the set file where the last heartbeat left them.
 */
import { Context } from '@temporalio/activity';
import type { MirrorDiffInput, MirrorDiffResult, MirrorSet } from '../common/contracts';
import { mirrorDeleteLimit, type JobSpec } from '../common/job';
import type { ActivityContext } from './context';
import { jobReportRoot, runReportDir } from './failures';
import { ABSENT_FROM_SOURCE, chainDigest, requireMirrorable, walkMirror, type WalkPosition } from './mirror-walk';
import { appendLines, cutAfter, mirrorFiles, writeDeletions, type SetLine } from './mirror-log';

/** Keys of the set the result carries for the Web UI and `ferry status`. */
export const MIRROR_SAMPLE = 5;
/** Destination entries walked between heartbeats (and appends to the set file). */
export const MIRROR_CHECKPOINT_EVERY = 500;

/** Heartbeat details of `mirrorDiff`. */
interface DiffCheckpoint extends WalkPosition {
  set: MirrorSet;
  sample: string[];
  destinationObjects: number;
  protected: number;
}

export const emptySet = (): MirrorSet => ({ objects: 0, bytes: 0, digest: '' });

/** The run's report folder (where failures.jsonl and deletions.jsonl go). */
export function mirrorRunDir(ctx: ActivityContext, job: JobSpec, runTag: string): string {
  return runReportDir(jobReportRoot(ctx.reportDir, job), job.name, runTag);
}

export async function mirrorDiff(ctx: ActivityContext, input: MirrorDiffInput): Promise<MirrorDiffResult> {
  const actx = Context.current();
  const { job } = input;
  const src = ctx.provider(job.source);
  const dst = ctx.provider(job.destination);
  requireMirrorable(src, dst);
  const runDir = mirrorRunDir(ctx, job, input.runTag);
  const files = mirrorFiles(runDir);
  const cp: DiffCheckpoint = (actx.info.heartbeatDetails as DiffCheckpoint | undefined) ?? { sourceSelected: 0, set: emptySet(), sample: [], destinationObjects: 0, protected: 0 };
  // What an earlier attempt appended past its last heartbeat is walked again.
  await cutAfter<SetLine>(files.set, cp.after);
  let unsaved: SetLine[] = [];
  const checkpoint = () => {
    appendLines(files.set, unsaved);
    unsaved = [];
    actx.heartbeat(structuredClone(cp));
  };
  for await (const e of walkMirror(src, dst, job, cp, actx.cancellationSignal)) {
    cp.destinationObjects++;
    if (e.kind === 'protected') cp.protected++;
    if (e.kind === 'delete') {
      unsaved.push({ key: e.key, size: e.size, reason: ABSENT_FROM_SOURCE });
      cp.set = { objects: cp.set.objects + 1, bytes: cp.set.bytes + e.size, digest: chainDigest(cp.set.digest, e.key, e.size) };
      if (cp.sample.length < MIRROR_SAMPLE) cp.sample.push(e.key);
    }
    if (cp.destinationObjects % MIRROR_CHECKPOINT_EVERY === 0) checkpoint();
  }
  checkpoint();
  const sourceEmpty = cp.sourceSelected === 0;
  const waits = !sourceEmpty && cp.set.objects > mirrorDeleteLimit(job.mirror, cp.destinationObjects);
  await writeDeletions(runDir, waits ? 'awaiting approval' : 'planned');
  return { set: cp.set, sample: cp.sample, destinationObjects: cp.destinationObjects, protected: cp.protected, sourceEmpty };
}
