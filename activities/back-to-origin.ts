/**
 * `backToOriginOn` / `backToOriginOff`: set the destination's mirroring-based back-to-origin for a cut-over (a read
 * of a key the destination lacks is fetched from the source) and later undo exactly what was set. The destination
 * opens through the worker's provider pool, so credentials are resolved on the worker; stores without the feature
 * (S3 and S3-compatible, fs) are skipped with a note.
 */
import { Context } from '@temporalio/activity';
import type { BackToOriginOffInput, BackToOriginOnInput, BackToOriginOnResult } from '../common/contracts';
import type { EndpointConfig } from '../common/job';
import type { ActivityContext } from './context';

/** Why a destination of this type gets no back-to-origin rule. */
function unsupportedNote(destination: EndpointConfig): string {
  if (destination.type === 's3') return 'S3 (and s3-compatible stores) have no back-to-origin feature: skipped';
  if (destination.type === 'fs') return 'a filesystem destination has no back-to-origin feature: skipped';
  return `a ${destination.type} destination has no back-to-origin feature: skipped`;
}

/**
 * Sets Ferry's back-to-origin rule on the destination (keys under its prefix, fetched from `originUrl`) and returns
 * the configuration from before it. Idempotent: a retry finds Ferry's rule and adds no second one. Throws
 * InvalidConfigError for a bad origin URL or a destination whose rule table is full.
 */
export async function backToOriginOn(ctx: ActivityContext, input: BackToOriginOnInput): Promise<BackToOriginOnResult> {
  const backToOrigin = ctx.provider(input.destination).backToOrigin;
  if (!backToOrigin) return { applied: false, previous: null, note: unsupportedNote(input.destination) };
  const signal = Context.current().cancellationSignal;
  const rule = { originUrl: input.originUrl, keyPrefix: input.destination.prefix || undefined, passQueryString: input.passQueryString ?? false };
  const out = await backToOrigin.enable(rule, { signal });
  return { applied: true, previous: out.previous, rule: out.rule, ...(out.alreadySet ? { note: "Ferry's back-to-origin rule was already set (a retried attempt): kept once, and previous is the configuration from before it" } : {}) };
}

/** Puts the destination's configuration back exactly as `previous` (from backToOriginOn) was. Idempotent. */
export async function backToOriginOff(ctx: ActivityContext, input: BackToOriginOffInput): Promise<void> {
  const backToOrigin = ctx.provider(input.destination).backToOrigin;
  if (!backToOrigin) return;
  await backToOrigin.restore(input.previous, { signal: Context.current().cancellationSignal });
}
