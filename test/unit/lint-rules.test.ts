/** The lint rules that keep workflow code deterministic actually fire (and stay quiet outside workflows/). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const lint = async (code: string, filePath: string) => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const [res] = await eslint.lintText(code, { filePath });
  return res!.messages.map((m) => m.ruleId ?? m.message);
};

test('workflows/ may not import Node built-ins, provider SDKs or activity code, nor use timers/randomness', async () => {
  const cases: [string, string][] = [
    [`import { readFileSync } from 'node:fs';\nexport const x = readFileSync;`, 'no-restricted-imports'],
    [`import * as fs from 'fs';\nexport const x = fs;`, 'no-restricted-imports'],
    [`import { S3Client } from '@aws-sdk/client-s3';\nexport const x = S3Client;`, 'no-restricted-imports'],
    [`import OSS from 'ali-oss';\nexport const x = OSS;`, 'no-restricted-imports'],
    [`import { openProvider } from '../storage/registry';\nexport const x = openProvider;`, 'no-restricted-imports'],
    [`import { copyRange } from '../activities/copy';\nexport const x = copyRange;`, 'no-restricted-imports'],
    [`export const x = Math.random();`, 'no-restricted-properties'],
    [`setTimeout(() => undefined, 1);`, 'no-restricted-globals'],
  ];
  for (const [code, rule] of cases) {
    assert.ok((await lint(code, 'workflows/probe.ts')).includes(rule), `${rule} fires for: ${code.split('\n')[0]}`);
  }
  // Allowed in workflows: type-only imports from activities, the workflow SDK.
  assert.deepEqual(await lint(`import type { ObjectInfo } from '../storage/provider';\nimport { sleep } from '@temporalio/workflow';\nexport const f = (o: ObjectInfo) => sleep(o.size);`, 'workflows/probe.ts'), []);
  // The same imports are fine in activities/.
  assert.deepEqual(await lint(`import { readFileSync } from 'node:fs';\nexport const x = readFileSync;`, 'activities/probe.ts'), []);
});
