/** Token buckets for bandwidth (bytes/s) and object rate limits, adjustable while running. */
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** A token bucket; `rate` undefined = unlimited. Burst is one second of tokens (at least `minBurst`). */
export class TokenBucket {
  private tokens = 0;
  private last = performance.now();
  private rate: number | undefined;
  constructor(
    rate: number | undefined,
    private readonly minBurst = 1,
  ) {
    this.setRate(rate);
  }

  setRate(rate: number | undefined): void {
    this.refill();
    this.rate = rate && rate > 0 ? rate : undefined;
    if (this.rate) this.tokens = Math.min(this.tokens, this.burst());
  }

  get limit(): number | undefined {
    return this.rate;
  }

  private burst(): number {
    return Math.max(this.rate ?? 0, this.minBurst);
  }

  private refill(): void {
    const now = performance.now();
    if (this.rate) this.tokens = Math.min(this.burst(), this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  /** Waits until `n` tokens are available and takes them (n may exceed the burst: the debt is waited off). */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (!this.rate) return;
      this.refill();
      if (this.tokens >= Math.min(n, this.burst())) {
        this.tokens -= n;
        return;
      }
      const wait = ((Math.min(n, this.burst()) - this.tokens) / this.rate) * 1000;
      await sleep(Math.max(5, Math.min(wait, 1000)), undefined, { signal });
    }
  }
}

/** A pass-through that takes bandwidth tokens for each chunk and reports bytes as they pass. */
export class ThrottledTap extends Transform {
  bytes = 0;
  constructor(
    private readonly bucket: TokenBucket,
    private readonly signal: AbortSignal | undefined,
    private readonly onBytes?: (n: number) => void,
    private readonly hashes: { update(b: Buffer): unknown }[] = [],
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    for (const h of this.hashes) h.update(chunk);
    this.onBytes?.(chunk.length);
    if (!this.bucket.limit) return cb(null, chunk);
    this.bucket.take(chunk.length, this.signal).then(
      () => cb(null, chunk),
      (e) => cb(e as Error),
    );
  }
}
