/**
 * The scheduler of one batch: `limits.objects` lanes take the objects of the range's windows from one shared
 * cursor, and free lanes help with the parts of large objects in progress (multipart.ts).
 *
 * Windows are listed one ahead (and matched against the destination) while the current one copies, and lanes go on
 * into the next while the current one's last transfers finish (two windows at most), so no lane waits for a listing
 * or for the slowest object of a window. The cursor moves over each window's finished prefix; a finished window is
 * size-checked (verify.ts) while later ones copy. The batch takes on further windows for BATCH_SECONDS, so a task
 * costs one activity per minute rather than per 1,000 objects.
 */
import { Context } from '@temporalio/activity';
import type { ObjectInfo } from '../storage/provider';
import type { BatchResult } from '../common/contracts';
import { destinationIndex, listRange } from './range';
import { forObject } from './guard';
import { processObject } from './transfer';
import { verifySizes } from './verify';
import { BATCH_BYTES, BATCH_OBJECTS, BATCH_SECONDS, PausedError, beat, count, type Batch } from './batch';
import { compileFilter } from '../common/glob';
import { isAbortError } from '../common/errors';
import { handoffFull } from './archive';

/** One listed slice of the range (≤ BATCH_OBJECTS objects / BATCH_BYTES) with the destination's matching objects. */
interface Window {
  entries: ObjectInfo[];
  done: boolean;
  index: Map<string, ObjectInfo>;
  finished: boolean[];
  /** Entries handed to lanes so far. */
  next: number;
  /** Last entry of the window's finished prefix (-1: none); advanced while the window is the oldest one. */
  contiguous: number;
}

/** Runs the batch's windows until the range is done, the job pauses, or the batch has run for BATCH_SECONDS. */
export function runBatch(batch: Batch): Promise<BatchResult> {
  return new Lanes(batch).run();
}

class Lanes {
  private readonly started = Date.now();
  private readonly verifyOnly: boolean;
  private readonly needIndex: boolean;
  private readonly include: (key: string) => boolean;
  /** Objects a previous attempt or paused batch finished out of order: not redone (nor counted again). */
  private readonly alreadyDone: Set<string>;
  /** Oldest first; lanes take entries from the last one. */
  private readonly windows: Window[] = [];
  /** The window after the last one, being listed (undefined: the batch takes on no further window). */
  private upcoming: Promise<Window> | undefined;
  private rangeDone = false;
  private paused = false;
  /** A listing or size-check error: lanes take no more objects, and the batch throws it after its last heartbeat. */
  private failure: { error: unknown } | undefined;
  /** Lanes parked until the cursor moves, a window finishes, or the batch is paused or aborted. */
  private readonly waiting: (() => void)[] = [];
  /** Size checks run one at a time, with the activity's own signal: a pause aborts batch.signal, not the checks. */
  private verifying: Promise<void> = Promise.resolve();
  private readonly activitySignal = Context.current().cancellationSignal;
  private active = 0;
  private readonly running: Promise<void>[] = [];

  constructor(private readonly batch: Batch) {
    const job = batch.input.job;
    this.verifyOnly = job.mode === 'verify';
    this.needIndex = this.verifyOnly || job.overwrite !== 'always';
    this.include = compileFilter(job.filter.include, job.filter.exclude);
    this.alreadyDone = new Set(batch.checkpoint.doneAfterCursor);
    // The out-of-order list is rebuilt only when a heartbeat is sent (and before returning), not per object.
    batch.syncDone = () => {
      batch.checkpoint.doneAfterCursor = this.windows.flatMap((w) => w.entries.filter((_, j) => j > w.contiguous && w.finished[j]).map((e) => e.position));
    };
  }

  async run(): Promise<BatchResult> {
    const { batch } = this;
    const wake = () => this.wake();
    batch.signal.addEventListener('abort', wake);
    try {
      this.prefetch(batch.checkpoint.cursor);
      // Every lane even for a short window: lanes without an object of their own take parts of the large ones.
      this.staff();
      for (let done = 0; done < this.running.length; ) {
        const upTo = this.running.length;
        await Promise.all(this.running.slice(done, upTo));
        done = upTo;
      }
    } finally {
      batch.signal.removeEventListener('abort', wake);
    }
    if (!this.paused && batch.signal.aborted && !(batch.signal.reason instanceof PausedError)) throw batch.signal.reason;
    // What a pause or the batch's end left unchecked, a paused window's copies included.
    this.verifyCopied();
    await this.verifying.catch(() => undefined);
    batch.checkpoint.failuresRecorded = batch.failureCount;
    beat(batch, true);
    if (this.failure) throw this.failure.error;
    return this.result();
  }

  private result(): BatchResult {
    const { checkpoint } = this.batch;
    const remainingUploads = Object.keys(checkpoint.uploads).length ? checkpoint.uploads : undefined;
    return {
      cursor: checkpoint.cursor,
      done: this.rangeDone && !this.windows.length && !this.paused,
      paused: this.paused,
      objects: checkpoint.objects,
      bytes: checkpoint.bytes,
      failures: this.batch.sample,
      failureCount: this.batch.failureCount,
      throttleEvents: checkpoint.throttleEvents,
      partsResumed: checkpoint.partsResumed,
      verifiedBy: checkpoint.verifiedBy,
      uploads: this.paused ? remainingUploads : undefined,
      doneAfterCursor: checkpoint.doneAfterCursor.length ? checkpoint.doneAfterCursor : undefined,
      ...(checkpoint.restoring?.length ? { restoring: checkpoint.restoring } : {}),
      ...(checkpoint.archive ? { archive: checkpoint.archive } : {}),
    };
  }

  private async fetchWindow(after: string | undefined): Promise<Window> {
    const { batch } = this;
    const job = batch.input.job;
    const { entries, done } = await listRange(batch.src, job.source.prefix, batch.input.range, after, BATCH_OBJECTS, BATCH_BYTES, batch.signal, { pages: batch.plannedPages, job: job.name });
    const index = this.needIndex ? await destinationIndex(batch.src, batch.dst, job, entries, batch.signal) : new Map<string, ObjectInfo>();
    return { entries, done, index, finished: entries.map((e) => this.alreadyDone.has(e.position)), next: 0, contiguous: -1 };
  }

  private prefetch(after: string | undefined): void {
    this.upcoming = this.fetchWindow(after);
    this.upcoming.catch(() => undefined); // awaited by a lane when used; a pause, an abort or the batch's end drops it
  }

  private parked(): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private verifyCopied(upTo?: string): void {
    if (this.batch.input.job.verify === 'none' || this.verifyOnly) return;
    this.verifying = this.verifying.then(() => verifySizes(this.batch, this.activitySignal, upTo));
    this.verifying.catch((error: unknown) => void (this.failure ??= { error }));
  }

  /** Moves the cursor over the finished prefix; a finished window is size-checked and dropped (room for the next). */
  private settle(): void {
    const { batch } = this;
    for (let w = this.windows[0]; w; w = this.windows[0]) {
      const from = w.contiguous;
      while (w.contiguous + 1 < w.entries.length && w.finished[w.contiguous + 1]) w.contiguous++;
      if (w.contiguous >= 0) batch.checkpoint.cursor = w.entries[w.contiguous]!.position;
      if (w.contiguous > from) this.wake();
      if (w.contiguous < w.entries.length - 1) return;
      this.windows.shift();
      this.rangeDone = w.done;
      if (w.entries.length) this.verifyCopied(w.entries[w.entries.length - 1]!.position);
      batch.checkpoint.failuresRecorded = batch.failureCount;
      beat(batch, true);
      this.wake();
    }
  }

  /**
   * The next entry of the last window, if one is left; 'wait' while a window's worth of entries after the cursor is
   * handed out already (the heartbeat lists the finished ones: a stuck object must not let that list grow). A lane
   * starts its transfer in the same turn, so a large object's parts are open to the lanes that look next.
   */
  private takeNow(): { w: Window; i: number } | 'wait' | undefined {
    const { windows } = this;
    const w = windows[windows.length - 1];
    const ahead = windows.length > 1 ? windows[0]!.next - windows[0]!.contiguous - 1 + w!.next : w ? w.next - w.contiguous - 1 : 0;
    if (w && w.next < w.entries.length && ahead >= BATCH_OBJECTS) return 'wait';
    while (w && w.next < w.entries.length) {
      const i = w.next++;
      // All handed out: the batch takes on the next window only while it is young.
      if (w.next === w.entries.length && Date.now() - this.started >= BATCH_SECONDS * 1000) this.upcoming = undefined;
      if (!w.finished[i]) return { w, i };
    }
    return undefined;
  }

  /** Waits for the next window, or for room for it; false when none will come. */
  private async awaitWindow(): Promise<boolean> {
    const next = this.upcoming;
    if (!next) return false;
    if (this.windows.length >= 2) {
      await this.parked(); // until the oldest finishes
      return true;
    }
    try {
      const listed = await next;
      if (this.upcoming !== next) return true; // another lane took it on
      this.windows.push(listed);
      this.upcoming = undefined;
      if (!listed.done && listed.entries.length) this.prefetch(listed.entries[listed.entries.length - 1]!.position);
      this.settle();
    } catch (error) {
      if (!this.batch.signal.aborted) this.failure ??= { error };
    }
    return true;
  }

  /** Lanes wanted now: re-read as objects are handed out, so a throttle update changes the count at once. */
  private wanted(): number {
    return Math.max(1, this.batch.control?.objects ?? this.batch.input.limits.objects);
  }

  private staff(): void {
    while (this.active < this.wanted()) {
      this.active++;
      const lane = this.lane();
      lane.catch(() => undefined); // awaited by run()
      this.running.push(lane);
    }
  }

  private async lane(): Promise<void> {
    try {
      while (!this.paused && this.active <= this.wanted()) {
        if (!(await this.step())) return;
      }
    } finally {
      this.active--;
    }
  }

  /** One turn of a lane: help with a large object's parts, or take the next object. False when the lane ends. */
  private async step(): Promise<boolean> {
    const { batch } = this;
    // A free lane first takes parts of a large object in progress, the oldest first.
    const shared = batch.shared.find((s) => s.open);
    if (shared) {
      await shared.join();
      if (!batch.signal.aborted) return true;
      this.paused = batch.signal.reason instanceof PausedError; // other aborts: run() throws the reason
      return false;
    }
    if (batch.signal.aborted) this.paused ||= batch.signal.reason instanceof PausedError;
    if (this.paused || this.failure || batch.signal.aborted || handoffFull(batch)) return false;
    const taken = this.takeNow();
    if (taken === 'wait') {
      await this.parked(); // until the cursor moves
      return true;
    }
    if (!taken) return this.awaitWindow();
    this.staff();
    return this.handle(taken.w, taken.i);
  }

  private async handle(w: Window, i: number): Promise<boolean> {
    const { batch } = this;
    const o = w.entries[i]!;
    try {
      const { outcome, checks } = await forObject(o.key, () => processObject(batch, o, w.index, this.include, this.verifyOnly));
      count(batch, outcome, o.size, checks);
      w.finished[i] = true;
      this.settle();
      beat(batch);
      return true;
    } catch (e) {
      if (e instanceof PausedError || (isAbortError(e) && batch.signal.reason instanceof PausedError)) {
        this.paused = true;
        return false;
      }
      throw e;
    }
  }
}
