/**
 * V8's old-generation growth between full GCs (`--heap-growing-percent`), raised while object bytes stream
 * through the worker.
 *
 * The worker caps that growth (workers/worker.ts, boundHeapGrowth) so planning's garbage does not pile up to
 * several times the live heap. But V8 also counts the external memory allocated since the last full GC against
 * the same limit, and a streamed copy allocates a fresh buffer of up to 64 KiB for every socket or file read.
 * With a 30 % cap over a ~28 MB heap, those buffers use up the slack within milliseconds although the heap does
 * not grow: V8 then starts a marking cycle again as soon as one ends. In bench case b (8 × 256 MiB) that was
 * 18 full GCs in a 7 s run, about 1 CPU-s of marking in a worker that used 3.5–4.4 CPU-s.
 *
 * While at least one streamed transfer runs, growth is STREAMING_HEAP_GROWING_PERCENT; when the last one ends, the
 * cap again. V8 reads the flag when a full GC sets the next limit, so each setting takes effect from the next one.
 * A small object read whole counts too once its body is HEAP_BODY_BYTES (4 KiB) or more (activities/copy.ts):
 * each such body is a buffer of its own outside V8's heap, counted the same way. In bench case a (5,000 ×
 * 16 KiB) the bodies kept 1–12 full GCs running per job under the cap, and a warm job took 2.6–4.1 CPU-s;
 * raised, it ran 0–2 full GCs and took 2.3–2.9 CPU-s (8 of 12 jobs; the others 3.2–3.6), and the worker's peak
 * rose from 191 to 216–246 MiB (on node:http; on http1.ts, whose body chunks are socket slices, a's peak was
 * 165–177 MiB raised and 175–177 without, with 9 against 14 full GCs in a worker log of three jobs). Tinier
 * objects (bench case f: 64 bytes, planning-heavy) stay capped: their garbage is JavaScript objects, which the cap
 * is for.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation growth while a streamed transfer runs: the next full GC waits for 3× the live heap. */
export const STREAMING_HEAP_GROWING_PERCENT = 200;

export class HeapGrowth {
  private base: number | undefined;
  private running = 0;

  constructor(private readonly apply: (percent: number) => void = (p) => setFlagsFromString(`--heap-growing-percent=${p}`)) {}

  /** Streamed transfers running now. */
  get streams(): number {
    return this.running;
  }

  /** Sets growth to `percent` and manages it from now on (raised while transfers stream). */
  cap(percent: number): void {
    this.base = percent;
    this.apply(this.running ? STREAMING_HEAP_GROWING_PERCENT : percent);
  }

  /**
   * Marks one streamed transfer as running until the returned function is called (more calls do nothing).
   * Without a cap (a node started with its own `--heap-growing-percent`, or no worker), changes nothing.
   */
  streaming(): () => void {
    if (this.base === undefined) return () => undefined;
    if (this.running++ === 0) this.apply(STREAMING_HEAP_GROWING_PERCENT);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.running === 0 && this.base !== undefined) this.apply(this.base);
    };
  }

  /** Runs `transfer` as one streamed transfer. */
  async during<T>(transfer: () => Promise<T>): Promise<T> {
    const end = this.streaming();
    try {
      return await transfer();
    } finally {
      end();
    }
  }
}

/** The worker process's policy (capped by createFerryWorker; tests and tools that start no worker leave V8's own). */
export const heapGrowth = new HeapGrowth();
