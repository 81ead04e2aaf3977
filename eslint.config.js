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
    },
  },
  {
    files: ['bin/**', 'scripts/**', 'bench/**', 'eval/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
