import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/fixtures/code holds deliberately bad code for the code-review tests.
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'oclif.manifest.json', 'test/fixtures/code/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // stdout belongs to results and to the MCP protocol: product code writes through oclif or process streams on purpose.
      'no-console': 'error',
      // V8's flags are the process's: changed while other threads (store engines) run, V8 may crash.
      'no-restricted-properties': ['error', { object: 'v8', property: 'setFlagsFromString', message: 'V8 flags are process-wide and unsafe to change while other threads run: pass them on the node command line instead.' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'node:v8', importNames: ['setFlagsFromString'], message: 'V8 flags are process-wide and unsafe to change while other threads run.' }, { name: 'v8', importNames: ['setFlagsFromString'], message: 'V8 flags are process-wide and unsafe to change while other threads run.' }] }],
    },
  },
  {
    files: ['bin/**', 'scripts/**', 'bench/**', 'eval/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
