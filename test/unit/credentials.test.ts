import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveCredentials, profileEnvPrefix } from '../../storage/credentials';
import { CredentialsError } from '../../common/errors';

test('profile env prefix: upper-cased, - and . become _', () => {
  assert.equal(profileEnvPrefix('tokyo-prod.v2'), 'FERRY_CREDENTIALS_TOKYO_PROD_V2_');
});

test('env variables win over the credentials file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cred-'));
  const file = join(dir, 'creds.yaml');
  writeFileSync(file, 'tokyo:\n  accessKeyId: FILEID\n  secretAccessKey: FILESECRET\nhz:\n  accessKeyId: HZID\n  secretAccessKey: HZSECRET\n  sessionToken: HZTOKEN\n');
  try {
    const env = { FERRY_CREDENTIALS_TOKYO_ACCESS_KEY_ID: 'ENVID', FERRY_CREDENTIALS_TOKYO_SECRET_ACCESS_KEY: 'ENVSECRET' };
    assert.deepEqual(resolveCredentials('tokyo', { env, file }), { accessKeyId: 'ENVID', secretAccessKey: 'ENVSECRET' });
    assert.deepEqual(resolveCredentials('hz', { env, file }), { accessKeyId: 'HZID', secretAccessKey: 'HZSECRET', sessionToken: 'HZTOKEN' });
    assert.deepEqual(resolveCredentials('hz', { env: { FERRY_CREDENTIALS_FILE: file } }), { accessKeyId: 'HZID', secretAccessKey: 'HZSECRET', sessionToken: 'HZTOKEN' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('falls back to the provider default chain, else names the profile and the variables', () => {
  assert.equal(resolveCredentials('x', { env: {}, defaultChain: () => 'sdk' }), 'sdk');
  assert.throws(
    () => resolveCredentials('tokyo-prod', { env: {}, defaultChainHint: 'set AWS_ACCESS_KEY_ID' }),
    (e: unknown) =>
      e instanceof CredentialsError &&
      e.message.includes('"tokyo-prod"') &&
      e.message.includes('FERRY_CREDENTIALS_TOKYO_PROD_ACCESS_KEY_ID') &&
      e.message.includes('FERRY_CREDENTIALS_TOKYO_PROD_SECRET_ACCESS_KEY') &&
      e.message.includes('AWS_ACCESS_KEY_ID'),
  );
});

test('an incomplete profile is an error that never echoes the secret', () => {
  const secret = 'SUPER-SECRET-VALUE-123';
  assert.throws(
    () => resolveCredentials('p', { env: { FERRY_CREDENTIALS_P_SECRET_ACCESS_KEY: secret } }),
    (e: unknown) => e instanceof CredentialsError && e.message.includes('FERRY_CREDENTIALS_P_ACCESS_KEY_ID') && !e.message.includes(secret),
  );
});

test('a malformed credentials file is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cred-'));
  const file = join(dir, 'creds.yaml');
  writeFileSync(file, '- just\n- a list\n');
  try {
    assert.throws(() => resolveCredentials('p', { env: {}, file }), /must be a map of profile/);
    assert.throws(() => resolveCredentials('p', { env: {}, file: join(dir, 'missing.yaml') }), /cannot read credentials file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
