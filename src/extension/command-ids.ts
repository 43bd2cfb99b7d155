/** Command IDs, defined once; package.json contributes the same strings (a test checks they match). */
export const COMMANDS = {
  showLog: 'flowlens.log.show',
  deployAgent: 'flowlens.agent.deploy',
  removeAgent: 'flowlens.agent.remove',
  agentStatus: 'flowlens.agent.status',
  switchContext: 'flowlens.context.switch',
  refreshTree: 'flowlens.tree.refresh',
  showMap: 'flowlens.map.show',
  showFlows: 'flowlens.flows.show',
  generatePolicy: 'flowlens.policy.generate',
  validatePolicy: 'flowlens.policy.validate',
  applyPolicy: 'flowlens.policy.apply',
  openRecording: 'flowlens.recording.open',
  startRecording: 'flowlens.recording.start',
  stopRecording: 'flowlens.recording.stop',
} as const;

/** The tree view's ID. */
export const TREE_VIEW = 'flowlens.tree';
