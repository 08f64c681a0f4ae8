/**
 * Clock skew: ali-oss's Node client dates requests by the local clock and gives up on RequestTimeTooSkewed (only
 * its browser build corrects itself). The request wrapper (`client.ts`) learns the server's time from that
 * answer ({@link refusedRequestTime}), the {@link SignerClock} adopts it and feeds it to ali-oss's
 * `amendTimeSkewed` option, and the request is sent again at once, as the AWS SDK does for S3.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** OSS refuses request times further than this from its own clock. */
const OSS_MAX_SKEW_MS = 15 * 60_000;
/** Smaller differences from the server's time cannot explain a refusal, so they are not corrected. */
const MIN_CLOCK_CORRECTION_MS = 60_000;

/**
 * The request signer's clock: its source (`ProviderContext.now`, default `Date.now`) plus the offset
 * learned from servers that refused a request time, like the AWS SDK's `systemClockOffset`. Shared by the
 * provider's ali-oss clients.
 */
export class SignerClock {
  offsetMs = 0;
  constructor(private readonly source: () => number) {}

  now(): number {
    return this.source() + this.offsetMs;
  }

  /** ali-oss's `amendTimeSkewed`: what it adds to its own Date.now() when it dates a request. */
  amendment(): number {
    return this.now() - Date.now();
  }

  /**
   * Makes an ali-oss client date its requests by this clock. A getter: ali-oss reads the option each time it
   * dates a request, so every client follows the corrections.
   */
  drive(clientOptions: { amendTimeSkewed?: number }): void {
    Object.defineProperty(clientOptions, 'amendTimeSkewed', { get: () => this.amendment(), enumerable: true });
  }

  /**
   * Adopts the server's time when the signer is off it by more than a minute. True when a request that was
   * signed with `signedOffset` would now be dated differently enough to be worth sending again.
   */
  correct(serverTime: number, signedOffset: number): boolean {
    if (Math.abs(serverTime - this.now()) > MIN_CLOCK_CORRECTION_MS) this.offsetMs = serverTime - this.source();
    return Math.abs(this.offsetMs - signedOffset) > MIN_CLOCK_CORRECTION_MS;
  }
}

/**
 * The server's time from a 403 that refused the request time: `<ServerTime>` of the OSS error (body, or
 * `x-oss-err` for bodiless answers), else the `Date` header. A bodiless 403 without `x-oss-err` counts when its
 * `Date` is further from the signer's clock than OSS tolerates (how the AWS SDK spots skew).
 */
export function refusedRequestTime(status: number | undefined, headers: IncomingHttpHeaders, data: unknown, clock: SignerClock): number | undefined {
  if (status !== 403) return undefined;
  const body = Buffer.isBuffer(data) || typeof data === 'string' ? String(data) : '';
  const xml = body || Buffer.from(String(headers['x-oss-err'] ?? ''), 'base64').toString('utf8');
  const date = Date.parse(String(headers.date ?? ''));
  if (!xml) return Math.abs(date - clock.now()) > OSS_MAX_SKEW_MS ? date : undefined;
  if (!/<Code>\s*RequestTimeTooSkewed\s*<\/Code>/.test(xml)) return undefined;
  const serverTime = Date.parse(/<ServerTime>([^<]*)<\/ServerTime>/.exec(xml)?.[1] ?? '');
  return Number.isNaN(serverTime) ? (Number.isNaN(date) ? undefined : date) : serverTime;
}
