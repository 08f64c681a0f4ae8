// Lint keeps workflow code deterministic: no Node built-ins, no provider SDKs, no I/O in workflows/.
const tseslint = require('typescript-eslint');
const { builtinModules } = require('node:module');

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must be deterministic: no Node built-ins in workflows/.' })),
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*', 'ali-oss', 'undici'], message: 'Provider SDKs belong in storage/, not workflows/.' },
            { group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client'], message: 'Workflows import only @temporalio/workflow and @temporalio/common.' },
            { group: ['../activities/*', '../activities/**', '../storage/*', '../storage/**'], allowTypeImports: true, message: 'Workflows may only `import type` from activities/ and storage/.' },
          ],
        },
      ],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() loops from @temporalio/workflow.' },
        { name: 'fetch', message: 'No I/O in workflows.' },
        { name: 'process', message: 'No process access in workflows.' },
      ],
      'no-restricted-properties': ['error',
        // Date.now() is fine: the workflow sandbox makes it the (replayed) workflow-task time.
        { object: 'Math', property: 'random', message: 'Use uuid4()/explicit inputs; keep workflow code obviously deterministic.' },
      ],
    },
  },
);
