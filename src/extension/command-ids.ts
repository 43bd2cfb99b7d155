/** Command IDs, defined once; package.json contributes the same strings. */
export const COMMANDS = {
  showLog: 'flowlens.log.show',
} as const;
