/**
 * Opens a provider from an endpoint spec (the `source`/`destination` block of a job). The only place that
 * knows the provider types; everything else branches on capabilities.
 */
import type { EndpointSpec, ObjectProvider } from './provider';
import type { CredentialSources } from './credentials';
import { InvalidConfigError } from '../common/errors';

/** Worker-side context a provider needs to open: where secrets come from. */
export interface ProviderContext {
  env?: NodeJS.ProcessEnv;
  /** Credentials file (`--credentials`), else `FERRY_CREDENTIALS_FILE`. */
  credentialsFile?: string;
  /** The request signers' clock in epoch ms (default `Date.now`); tests run a worker whose clock is off. */
  now?: () => number;
}

export type ProviderFactory = (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;

/*
 * Providers load on first use: a worker that moves S3 data never loads ali-oss (~20 MiB resident), nor an fs/OSS
 * one the AWS SDK (~20 MiB).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const factories: Record<EndpointSpec['type'], ProviderFactory | undefined> = {
  fs: (spec, ctx) => (require('./fs/fs') as typeof import('./fs/fs')).openFsProvider(spec, ctx),
  s3: (spec, ctx) => (require('./s3/s3') as typeof import('./s3/s3')).openS3Provider(spec, ctx),
  oss: (spec, ctx) => (require('./oss/oss') as typeof import('./oss/oss')).openOssProvider(spec, ctx),
  http: (spec, ctx) => (require('./http/http') as typeof import('./http/http')).openHttpProvider(spec, ctx),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Opens the provider for `spec`. Throws InvalidConfigError for an unknown type. */
export function openProvider(spec: EndpointSpec, ctx: ProviderContext = {}): ObjectProvider {
  const factory = factories[spec.type];
  if (!factory) throw new InvalidConfigError([`type: unknown provider type "${String(spec.type)}" (expected one of ${Object.keys(factories).join(', ')})`]);
  return factory(spec, ctx);
}

/** Credential sources for a context, shared by the providers that take keys. */
export function credentialSources(ctx: ProviderContext): CredentialSources {
  return { env: ctx.env ?? process.env, file: ctx.credentialsFile };
}
