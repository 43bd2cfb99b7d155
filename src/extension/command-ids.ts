/** Command IDs, defined once; package.json contributes the same strings (a test checks they match). */
export const COMMANDS = {
  showLog: 'flowlens.log.show',
  deployAgent: 'flowlens.agent.deploy',
  removeAgent: 'flowlens.agent.remove',
  agentStatus: 'flowlens.agent.status',
  switchContext: 'flowlens.context.switch',
  refreshTree: 'flowlens.tree.refresh',
} as const;

/** The tree view's ID. */
export const TREE_VIEW = 'flowlens.tree';
