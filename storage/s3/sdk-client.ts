/**
 * The `@aws-sdk/client-s3` side of the s3 provider: the SDK loaded on first use, and its clients built with the
 * provider's agents, timeouts and checksum settings (custom endpoints: `WHEN_REQUIRED`, which many S3-compatible
 * stores need). A worker that only talks to S3-compatible stores with profile keys never loads the SDK.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { ResolvedCredentials } from '../credentials';

/* eslint-disable @typescript-eslint/no-require-imports */
export type Sdk = typeof import('@aws-sdk/client-s3');
export const sdk = (): Sdk => require('@aws-sdk/client-s3') as Sdk;
const smithyHttp = (): typeof import('@smithy/node-http-handler') => require('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');
/* eslint-enable @typescript-eslint/no-require-imports */

export const CONNECTION_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 120_000;

/** Whether the AWS default credential chain has something to find (env keys, a profile, web identity, a container). */
export function hasAwsDefaultChain(env: NodeJS.ProcessEnv): boolean {
  return !!(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || existsSync(join(homedir(), '.aws', 'credentials')));
}

export interface SdkClientSettings {
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** Keys from a profile, or `sdk` for the AWS default chain. */
  credentials: ResolvedCredentials;
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
  /** Called once per HTTP request sent (request counting in benchmarks). */
  onRequest?: (method: string, path: string) => void;
}

/** A factory of SDK clients with these settings; `maxAttempts` 1 makes a client that never resends a request. */
export function sdkClientFactory(s: SdkClientSettings): (maxAttempts?: number) => S3Client {
  return (maxAttempts = 3) => {
    const { S3Client } = sdk();
    const client = new S3Client({
      region: s.region,
      endpoint: s.endpoint,
      forcePathStyle: s.forcePathStyle,
      credentials: s.credentials === 'sdk' ? undefined : s.credentials,
      requestChecksumCalculation: s.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts,
      requestHandler: new (smithyHttp().NodeHttpHandler)({ httpAgent: s.httpAgent, httpsAgent: s.httpsAgent, connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }),
    });
    const onRequest = s.onRequest;
    if (onRequest) {
      client.middlewareStack.add(
        (next) => async (args) => {
          const req = args.request as { method?: string; path?: string };
          onRequest(req.method ?? '?', req.path ?? '');
          return next(args);
        },
        { step: 'finalizeRequest', name: 'ferryRequestCounter', priority: 'low' },
      );
    }
    return client;
  };
}
