/**
 * Where the CLI finds Temporal: flags first, then the temporal CLI's environment variables
 * (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_TLS_*`, `TEMPORAL_API_KEY`), then — in standalone mode — the
 * embedded dev server of the data directory. Connection failures become {@link ServerUnreachableError}
 * (exit 3) with the fix in the message.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { errorMessage } from '../common/errors';
import { ServerUnreachableError, UsageError } from './errors';
import type { CliOptions } from './cli';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_TASK_QUEUE = 'ferry';

export interface TlsSettings {
  cert?: string;
  key?: string;
  ca?: string;
  serverName?: string;
}

export interface ConnectionSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** `true` = TLS with system roots; an object = files; undefined = plaintext. */
  tls?: TlsSettings | true;
  apiKey?: string;
  /** Whether the address came from a flag or the environment (else: standalone / embedded server). */
  explicit: boolean;
}

/** Resolves connection settings from flags and environment. Pure. Throws UsageError for half-given TLS pairs. */
export function connectionSettings(opts: Pick<CliOptions, 'address' | 'namespace' | 'taskQueue' | 'tls' | 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsServerName' | 'apiKey'>, env: NodeJS.ProcessEnv): ConnectionSettings {
  const address = opts.address ?? (env.TEMPORAL_ADDRESS || undefined);
  const files: TlsSettings = {
    cert: opts.tlsCert ?? (env.TEMPORAL_TLS_CERT || undefined),
    key: opts.tlsKey ?? (env.TEMPORAL_TLS_KEY || undefined),
    ca: opts.tlsCa ?? (env.TEMPORAL_TLS_CA || undefined),
    serverName: opts.tlsServerName ?? (env.TEMPORAL_TLS_SERVER_NAME || undefined),
  };
  if (!!files.cert !== !!files.key) throw new UsageError(`--tls-cert and --tls-key go together (got only ${files.cert ? '--tls-cert' : '--tls-key'}; or TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY)`);
  const anyFile = Object.values(files).some((v) => v !== undefined);
  const apiKey = opts.apiKey ?? (env.TEMPORAL_API_KEY || undefined);
  const tlsFlag = opts.tls ?? /^(1|true|yes)$/i.test(env.TEMPORAL_TLS ?? '');
  const tls: ConnectionSettings['tls'] = anyFile ? files : tlsFlag || apiKey ? true : undefined;
  return {
    address: address ?? DEFAULT_ADDRESS,
    namespace: opts.namespace ?? (env.TEMPORAL_NAMESPACE || DEFAULT_NAMESPACE),
    taskQueue: opts.taskQueue ?? (env.FERRY_TASK_QUEUE || DEFAULT_TASK_QUEUE),
    tls,
    apiKey,
    explicit: address !== undefined,
  };
}

function readTlsFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read (${errorMessage(e)})`);
  }
}

/** TLS options in the shape both `Connection` and `NativeConnection` take. */
export function tlsConfig(tls: ConnectionSettings['tls']): TLSConfig | boolean | undefined {
  if (tls === undefined) return undefined;
  if (tls === true) return true;
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: tls.ca ? readTlsFile(tls.ca, '--tls-ca') : undefined,
    clientCertPair: tls.cert && tls.key ? { crt: readTlsFile(tls.cert, '--tls-cert'), key: readTlsFile(tls.key, '--tls-key') } : undefined,
  };
}

export interface Connected {
  client: Client;
  connection: Connection;
  settings: ConnectionSettings;
  close(): Promise<void>;
}

/** Why a server could not be reached, with the fix that fits how the address was chosen. */
export function unreachableMessage(s: ConnectionSettings, reason: string): string {
  const fix = s.explicit
    ? 'check the address (--address / TEMPORAL_ADDRESS), TLS flags and that the server is up'
    : 'start the embedded server with `ferry server` (or run the job with `ferry run JOB.yaml`), or point at a cluster with --address / TEMPORAL_ADDRESS';
  return `cannot reach Temporal at ${s.address} (namespace ${s.namespace}): ${reason} — ${fix}`;
}

/**
 * Connects and checks the namespace exists (one describeNamespace call), so a wrong address fails here, clearly,
 * instead of on the first workflow call.
 */
export async function connect(s: ConnectionSettings, timeoutMs = 10_000): Promise<Connected> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: s.address, tls: tlsConfig(s.tls), apiKey: s.apiKey, connectTimeout: timeoutMs });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new ServerUnreachableError(unreachableMessage(s, firstLine(errorMessage(e))), { cause: e });
  }
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.describeNamespace({ namespace: s.namespace }));
  } catch (e) {
    await connection.close().catch(() => undefined);
    const code = (e as { code?: number }).code;
    if (code === 5) throw new ServerUnreachableError(`namespace "${s.namespace}" does not exist on ${s.address}: create it (temporal operator namespace create --namespace ${s.namespace}) or pass --namespace`, { cause: e });
    if (code === 7 || code === 16) throw new ServerUnreachableError(`Temporal at ${s.address} refused us (${firstLine(errorMessage(e))}): check --api-key / TLS client certificates`, { cause: e });
    throw new ServerUnreachableError(unreachableMessage(s, firstLine(errorMessage(e))), { cause: e });
  }
  const client = new Client({ connection, namespace: s.namespace });
  return { client, connection, settings: s, close: () => connection.close().catch(() => undefined) };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
