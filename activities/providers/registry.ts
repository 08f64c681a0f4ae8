/**
 * Opens a provider from an endpoint spec (the `source`/`destination` block of a job). The only place that
 * knows the provider types; everything else branches on capabilities.
 */
import type { EndpointSpec, ObjectProvider } from './provider';
import type { CredentialSources } from '../credentials';
import { InvalidConfigError } from '../../common/errors';
import { openFsProvider } from './fs';
import { openS3Provider } from './s3';
import { openHttpProvider } from './http';
import { openOssProvider } from './oss';

/** Worker-side context a provider needs to open: where secrets come from. */
export interface ProviderContext {
  env?: NodeJS.ProcessEnv;
  /** Credentials file (`--credentials`), else `FERRY_CREDENTIALS_FILE`. */
  credentialsFile?: string;
}

export type ProviderFactory = (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;

const factories: Record<EndpointSpec['type'], ProviderFactory | undefined> = {
  fs: openFsProvider,
  s3: openS3Provider,
  oss: openOssProvider,
  http: openHttpProvider,
};

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
