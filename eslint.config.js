// Lint rules: typescript-eslint's recommended type-aware set, plus the architecture rule that the
// pure core imports nothing outside itself (no node:* modules, no clock).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', '.cache/**', 'dist/**', '**/*.min.js', 'src/server/assets/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'http', 'os', 'child_process'], message: 'core is pure: no I/O' },
            { group: ['../*', '!./*'], message: 'core imports nothing outside src/core' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'core is given `now`; it never reads a clock' },
        { object: 'Math', property: 'random', message: 'core is deterministic' },
        { object: 'performance', property: 'now', message: 'core is given `now`' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core never reads a clock' },
      ],
    },
  },
  {
    // `headroom import hpa`'s mapping is pure too (src/import/kube.ts reads the apiserver).
    files: ['src/import/hpa.ts', 'src/import/hpa-sections.ts', 'src/import/render.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'http', 'os', 'child_process'], message: 'the mapping is pure: no I/O' },
            {
              group: ['@kubernetes/*', '../adapters/*'],
              message: 'the mapping is pure: the apiserver is read in kube.ts',
            },
          ],
        },
      ],
    },
  },
);
