/**
 * Resolves a credential profile name to secrets, on the worker only (DESIGN.md §Credentials), in order:
 *   1. env `FERRY_CREDENTIALS_<PROFILE>_ACCESS_KEY_ID` / `_SECRET_ACCESS_KEY` / `_SESSION_TOKEN`
 *      (profile upper-cased, every non-alphanumeric character → `_`);
 *   2. a credentials file (`--credentials FILE` or `FERRY_CREDENTIALS_FILE`): YAML map profile → keys;
 *   3. the provider's default chain (returns `undefined` here; the provider falls back to its SDK's chain:
 *      AWS env/profile for s3, `OSS_ACCESS_KEY_ID`/`OSS_ACCESS_KEY_SECRET` for oss).
 * Secrets never leave worker memory: callers must not log or return them.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CredentialsError } from '../common/errors';
import type { Credentials } from './provider';

export interface CredentialSources {
  env?: NodeJS.ProcessEnv;
  /** Path of a credentials file; defaults to `env.FERRY_CREDENTIALS_FILE`. */
  file?: string;
  /**
   * The provider's default chain, tried last: returns keys it found (e.g. `OSS_ACCESS_KEY_ID`), `'sdk'` when
   * the provider's SDK has a chain of its own worth trying (AWS env/profile), or `undefined` when it has none.
   */
  defaultChain?: (env: NodeJS.ProcessEnv) => Credentials | 'sdk' | undefined;
  /** Names the variables of the default chain, for the error message. */
  defaultChainHint?: string;
}

/** What a provider should authenticate with: explicit keys, or its SDK's own default chain. */
export type ResolvedCredentials = Credentials | 'sdk';

/** Env variable prefix for a profile: `FERRY_CREDENTIALS_<PROFILE>_`. */
export function profileEnvPrefix(profile: string): string {
  return `FERRY_CREDENTIALS_${profile.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

const fileCache = new Map<string, { text: string; profiles: Record<string, unknown> }>();

function readCredentialsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CredentialsError(`cannot read credentials file ${path}: ${(e as Error).message}`);
  }
  const cached = fileCache.get(path);
  if (cached && cached.text === text) return cached.profiles;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new CredentialsError(`credentials file ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CredentialsError(`credentials file ${path} must be a map of profile → keys`);
  fileCache.set(path, { text, profiles: doc as Record<string, unknown> });
  return doc as Record<string, unknown>;
}

function pick(entry: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = entry[n];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return undefined;
}

/**
 * Resolves `profile` (env → credentials file → provider default chain). With no profile named, only the
 * default chain is tried. Throws CredentialsError naming the profile and the variables that would satisfy it
 * when nothing is found, or when a profile is found incomplete.
 */
export function resolveCredentials(profile: string | undefined, sources: CredentialSources = {}): ResolvedCredentials {
  const env = sources.env ?? process.env;
  const fallback = sources.defaultChain?.(env);
  if (!profile) {
    if (fallback) return fallback;
    throw new CredentialsError(`no credential profile named and no default credentials found${sources.defaultChainHint ? ` (${sources.defaultChainHint})` : ''}: name a profile with "credentials:" in the job file`);
  }
  const pre = profileEnvPrefix(profile);
  const id = env[`${pre}ACCESS_KEY_ID`];
  const secret = env[`${pre}SECRET_ACCESS_KEY`];
  if (id || secret) {
    if (!id || !secret) {
      throw new CredentialsError(`credential profile "${profile}" is incomplete: set both ${pre}ACCESS_KEY_ID and ${pre}SECRET_ACCESS_KEY`);
    }
    const token = env[`${pre}SESSION_TOKEN`];
    return token ? { accessKeyId: id, secretAccessKey: secret, sessionToken: token } : { accessKeyId: id, secretAccessKey: secret };
  }
  const file = sources.file ?? env.FERRY_CREDENTIALS_FILE;
  if (file) {
    const entry = readCredentialsFile(file)[profile];
    if (entry !== undefined) {
      if (typeof entry !== 'object' || entry === null) throw new CredentialsError(`credential profile "${profile}" in ${file} must be a map with accessKeyId and secretAccessKey`);
      const e = entry as Record<string, unknown>;
      const accessKeyId = pick(e, 'accessKeyId', 'access_key_id', 'accessKeyID');
      const secretAccessKey = pick(e, 'secretAccessKey', 'secret_access_key', 'accessKeySecret');
      const sessionToken = pick(e, 'sessionToken', 'session_token', 'securityToken', 'stsToken');
      if (!accessKeyId || !secretAccessKey) throw new CredentialsError(`credential profile "${profile}" in ${file} needs accessKeyId and secretAccessKey`);
      return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
    }
  }
  if (fallback) return fallback;
  throw new CredentialsError(
    `credential profile "${profile}" not found: set ${pre}ACCESS_KEY_ID and ${pre}SECRET_ACCESS_KEY` +
      ` on the worker, or add "${profile}" to a credentials file (--credentials FILE or FERRY_CREDENTIALS_FILE)` +
      (file ? ` (searched ${file})` : '') +
      (sources.defaultChainHint ? `, or ${sources.defaultChainHint}` : ''),
  );
}
