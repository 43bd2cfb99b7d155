// Lint: typescript-eslint's recommended rules, plus the layering rule of ARCHITECTURE.md:
// src/core and src/cli never import vscode (they run in the CLI too), and nothing imports the extension layer.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'bpf/**', '.vscode-test/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      eqeqeq: ['error', 'always'],
      curly: 'error',
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'core and CLI modules must not depend on VS Code; put host code in src/extension.' }],
          patterns: [{ group: ['**/extension/**'], message: 'core and CLI modules must not depend on the extension layer.' }],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'core modules must not depend on VS Code; put host code in src/extension.' }],
          patterns: [
            { group: ['node:*', 'fs', 'path', 'child_process', 'os'], message: 'core modules stay runtime-neutral: file and process access belongs to src/cli or src/extension.' },
            { group: ['**/extension/**', '**/cli/**'], message: 'core modules must not depend on the CLI or extension layers.' },
          ],
        },
      ],
    },
  },
);
