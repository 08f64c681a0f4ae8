/**
 * Mirroring-based back-to-origin on an OSS bucket ({@link BackToOrigin}), through the bucket's website configuration:
 * GetBucketWebsite / PutBucketWebsite / DeleteBucketWebsite sent by the provider's ali-oss client. ali-oss's own
 * `putBucketWebsite` builds the XML from an options object and `getBucketWebsite` returns a parsed one, so neither can
 * put a configuration back byte for byte; the raw XML travels through ali-oss's signed `request` instead.
 */
import type { BackToOrigin } from '../provider';
import { NotFoundError } from '../../common/errors';
import type { AliOss, RequestCtx } from './client';
import { findFerryRule, withFerryRule, withoutFerryRule } from './website-rules';

/** The provider's call wrapper (signal, clock-skew retry, error mapping; see oss.ts). */
export type OssCall = <T>(what: string, signal: AbortSignal | undefined, fn: (callCtx: { ctx: RequestCtx }) => Promise<T>) => Promise<T>;

/** Raw GET/PUT/DELETE of one bucket's website configuration. */
export interface BucketWebsite {
  /** The configuration as the server sends it, or `null` when the bucket has none (NoSuchWebsiteConfiguration). */
  read(signal?: AbortSignal): Promise<string | null>;
  /** Replaces the configuration with exactly these bytes. */
  write(xml: string, signal?: AbortSignal): Promise<void>;
  /** Removes the configuration (no error when there is none). */
  remove(signal?: AbortSignal): Promise<void>;
}

/** Website configuration requests for `bucket`, sent through `client()` by `call`. */
export function bucketWebsite(bucket: string, client: () => AliOss, call: OssCall): BucketWebsite {
  const what = (verb: string) => `${verb} website configuration of oss://${bucket}`;
  const send = (verb: string, method: string, statuses: number[], signal: AbortSignal | undefined, body?: string) =>
    call(what(verb), signal, async (callCtx) => {
      const c = client();
      const params = c._bucketRequestParams(method, bucket, 'website', callCtx);
      params.successStatuses = statuses;
      if (body !== undefined) {
        params.content = Buffer.from(body, 'utf8');
        params.mime = 'xml';
      }
      return c.request(params);
    });
  return {
    async read(signal) {
      try {
        const { data } = await send('get', 'GET', [200], signal);
        return Buffer.isBuffer(data) ? data.toString('utf8') : String(data ?? '');
      } catch (e) {
        if (e instanceof NotFoundError && e.code === 'NoSuchWebsiteConfiguration') return null;
        throw e;
      }
    },
    async write(xml, signal) {
      await send('put', 'PUT', [200], signal, xml);
    },
    async remove(signal) {
      await send('delete', 'DELETE', [200, 204], signal);
    },
  };
}

/** {@link BackToOrigin} over a bucket's website configuration (rules: website-rules.ts). */
export function ossBackToOrigin(website: BucketWebsite): BackToOrigin {
  return {
    async enable(spec, opts = {}) {
      const current = await website.read(opts.signal);
      const existing = await findFerryRule(current);
      // A retried activity finds its own rule: the configuration from before Ferry is the current one without it.
      const previous = existing === undefined ? current : await withoutFerryRule(current!);
      const wanted = await withFerryRule(current, spec);
      if (existing === wanted.rule) return { previous, rule: existing, alreadySet: true };
      await website.write(wanted.xml, opts.signal);
      return { previous, rule: wanted.rule, alreadySet: existing !== undefined };
    },
    async restore(previous, opts = {}) {
      if (previous === null) await website.remove(opts.signal);
      else await website.write(previous, opts.signal);
    },
  };
}
