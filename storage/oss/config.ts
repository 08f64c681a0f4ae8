/**
 * An `oss` endpoint spec → what the provider needs: validated bucket, endpoint, region and signature version
 * (every problem reported at once), credentials resolved on the worker, the ali-oss client options, and one
 * keep-alive agent pair per provider with enough sockets, routed through `HTTPS_PROXY`/`HTTP_PROXY` unless
 * `NO_PROXY` exempts the host (`proxyAwareAgents`).
 */
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type OSS from 'ali-oss';
import type { Credentials, EndpointSpec } from '../provider';
import { credentialSources, type ProviderContext } from '../registry';
import { proxyAwareAgents } from '../proxy/proxy-agent';
import { proxySettings } from '../proxy/proxy-env';
import { resolveCredentials } from '../credentials';
import { CredentialsError, InvalidConfigError } from '../../common/errors';

/** Options beyond the job spec (tests, benchmarks). */
export interface OssProviderOptions {
  /** Sockets per provider (default 256). */
  maxSockets?: number;
  /** Response timeout of requests without a large body, in ms (default 60 s). */
  timeoutMs?: number;
  /** Called once per HTTP request sent (request counting in benchmarks). */
  onRequest?: (method: string, path: string) => void;
  /**
   * ListObjects version to list with (default 2, `start-after`). 1 (`marker`) for stores known to ignore `start-after`;
   * with 2, a page that ignored it switches this provider to 1 by itself (see storage/listing-guard.ts).
   */
  listVersion?: 1 | 2;
  /** Where the provider reports what it found out about its server (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/** A validated `oss` endpoint, ready for ali-oss. */
export interface OssConfig {
  bucket: string;
  /** Non-secret identity of endpoint + credential profile. */
  endpointId: string;
  /** Response timeout of requests without a large body, in ms. */
  timeoutMs: number;
  /** ali-oss options shared by the provider's clients (each adds its bucket). */
  clientOptions: OSS.Options & Record<string, unknown>;
  agents: { http: HttpAgent; https: HttpsAgent };
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** `cn-hangzhou` → `oss-cn-hangzhou` (ali-oss's form); the endpoint host names it when no region is given. */
function normaliseRegion(region: string | undefined, endpoint: string | undefined): string | undefined {
  if (region) return region.startsWith('oss-') ? region : `oss-${region}`;
  if (!endpoint) return undefined;
  const host = /^[a-z]+:\/\/([^/:]+)/i.exec(endpoint)?.[1] ?? '';
  const match = /^(oss-[a-z0-9-]+?)(-internal)?\.aliyuncs\.com$/i.exec(host);
  return match?.[1]?.toLowerCase();
}

function ossDefaultChain(env: NodeJS.ProcessEnv): Credentials | undefined {
  const accessKeyId = env.OSS_ACCESS_KEY_ID;
  const secretAccessKey = env.OSS_ACCESS_KEY_SECRET;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return env.OSS_SESSION_TOKEN ? { accessKeyId, secretAccessKey, sessionToken: env.OSS_SESSION_TOKEN } : { accessKeyId, secretAccessKey };
}

/** Checks bucket, endpoint, region and signature version together. Throws InvalidConfigError naming every problem. */
function validateSpec(spec: EndpointSpec): { region: string | undefined; signatureVersion: 'v1' | 'v4' } {
  const problems: string[] = [];
  if (!spec.bucket) problems.push('bucket: an oss endpoint needs "bucket"');
  else if (!BUCKET_NAME.test(spec.bucket)) problems.push(`bucket: "${spec.bucket}" is not a valid OSS bucket name (3–63 lowercase letters, digits and "-")`);
  if (spec.endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/i.test(spec.endpoint)) problems.push(`endpoint: "${spec.endpoint}" must be an http(s) URL without a path, e.g. https://oss-cn-hangzhou.aliyuncs.com`);
  const signatureVersion = spec.signatureVersion ?? 'v4';
  const region = normaliseRegion(spec.region, spec.endpoint);
  if (!spec.endpoint && !region) problems.push('endpoint: an oss endpoint needs "endpoint" (e.g. https://oss-cn-hangzhou.aliyuncs.com) or "region"');
  else if (signatureVersion === 'v4' && !region) problems.push(`region: signature v4 needs "region" (e.g. cn-hangzhou) because endpoint ${spec.endpoint} does not name one; or set signatureVersion: v1`);
  if (problems.length) throw new InvalidConfigError(problems);
  return { region, signatureVersion };
}

/** Keys from the named profile or the OSS default chain. Throws CredentialsError when none are found. */
function ossCredentials(spec: EndpointSpec, ctx: ProviderContext): Credentials {
  const creds = resolveCredentials(spec.credentials, {
    ...credentialSources(ctx),
    defaultChain: ossDefaultChain,
    defaultChainHint: 'set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET for the OSS default chain',
  });
  if (creds === 'sdk') throw new CredentialsError('oss has no SDK credential chain: name a profile or set OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET');
  return creds;
}

/**
 * Validates an `oss` endpoint spec and builds the ali-oss client options and agents. Throws InvalidConfigError
 * for a bad spec, CredentialsError when no keys are found.
 */
export function ossConfig(spec: EndpointSpec, ctx: ProviderContext, opts: OssProviderOptions): OssConfig {
  const { region, signatureVersion } = validateSpec(spec);
  const endpoint = (spec.endpoint ?? `https://${region}.aliyuncs.com`).replace(/\/$/, '');
  const creds = ossCredentials(spec, ctx);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, keepAliveMsecs: 10_000 };
  return {
    bucket: spec.bucket!,
    endpointId: `oss|${endpoint}|${spec.credentials ?? 'default'}`,
    timeoutMs,
    agents: proxyAwareAgents(proxySettings(ctx.env ?? process.env), agentOpts),
    clientOptions: {
      endpoint,
      region: region ?? 'oss-cn-hangzhou', // v1 with an IP endpoint uses it only for the Host header
      accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.secretAccessKey,
      ...(creds.sessionToken ? { stsToken: creds.sessionToken, refreshSTSTokenInterval: 3_600_000 } : {}),
      authorizationV4: signatureVersion === 'v4',
      timeout: timeoutMs,
      retryMax: 0,
    },
  };
}
