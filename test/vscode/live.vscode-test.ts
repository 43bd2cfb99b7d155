/**
 * The extension against the sandbox cluster, in a real extension host: connect through the
 * flowlens.kubeconfig setting, deploy the agent, flows from every node reach the store through
 * port-forward, the tree shows the demo's namespaces and workloads with their traffic, status, removal,
 * and an unreachable cluster shown as such and recovered from. Skipped without FLOWLENS_SANDBOX_KUBECONFIG.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { eventually, screenshot } from './workbench';
import type { NodeRollout, RolloutProgress } from '../../src/cluster/agent-deployment';
import type { TreeNode } from '../../src/extension/cluster-tree';
import { COMMANDS } from '../../src/extension/command-ids';
import type { FlowLensApi } from '../../src/extension/extension';


suite('extension host: a live cluster (sandbox)', function () {
  this.timeout(300_000);
  let api: FlowLensApi;
  let kubeconfig: string;

  const setKubeconfig = (path: string) => vscode.workspace.getConfiguration('flowlens').update('kubeconfig', path, vscode.ConfigurationTarget.Global);
  const contextChildren = (): TreeNode[] => api.tree.getChildren({ type: 'context' });

  suiteSetup(async function () {
    kubeconfig = process.env.FLOWLENS_SANDBOX_KUBECONFIG ?? '';
    if (!kubeconfig) {
      this.skip();
    }
    api = (await vscode.extensions.getExtension('flowlens.flowlens')!.activate()) as FlowLensApi;
    await setKubeconfig(kubeconfig);
    await eventually('a session on the sandbox', async () => {
      await api.connected();
      return api.session()?.identity.context === 'flowlens-sandbox' ? true : undefined;
    });
  });

  test('Deploy Agent applies the agent and every node streams flows through port-forward', async () => {
    const result = (await vscode.commands.executeCommand(COMMANDS.deployAgent, { image: 'flowlens-agent:vscode' })) as RolloutProgress | undefined;
    assert.ok(result, 'the deploy command reported success');
    assert.deepEqual([result.desired, result.ready], [3, 3]);
    await eventually('all three agents streaming', () => (api.session()!.agents.status().filter((c) => c.state === 'streaming').length === 3 ? true : undefined));
    await eventually('flows in the store', () => (api.session()!.store.stats().entries > 0 ? true : undefined));
  });

  test('the tree shows the demo namespaces and workloads with their traffic, and the agent per node', async () => {
    const namespaces = contextChildren()
      .filter((n): n is Extract<TreeNode, { type: 'namespace' }> => n.type === 'namespace')
      .map((n) => n.name);
    for (const ns of ['ui', 'catalog', 'carts', 'orders', 'checkout', 'gallery', 'kube-system', 'flowlens-system']) {
      assert.ok(namespaces.includes(ns), `namespace ${ns} in the tree (${namespaces.join(', ')})`);
    }
    // Right after the deploy the agents have reported only some of ui's peers: wait for them all.
    const ui = await eventually('traffic of ui/ui to its peers', () => {
      api.tree.refresh();
      const t = api.tree.traffic('wl:Deployment/ui/ui');
      return t && t.bytes > 0 && t.flows >= 3 ? t : undefined;
    });
    assert.ok(ui.flows >= 3, `ui talks to catalog, carts, checkout and DNS (${ui.flows} edges)`);
    const workloads = api.tree.getChildren({ type: 'namespace', name: 'ui' });
    assert.deepEqual(workloads, [{ type: 'workload', namespace: 'ui', kind: 'Deployment', name: 'ui' }]);
    const item = api.tree.getTreeItem(workloads[0]);
    assert.match(String(item.description), /^Deployment · \d+(\.\d)? (B|KiB|MiB) · \d+ flows?/);
    assert.equal(item.id, 'wl:Deployment/ui/ui');
    const pods = api.tree.getChildren(workloads[0]);
    assert.equal(pods.length, 2);
    const orders = await eventually('retransmissions on the lossy orders path', () => {
      api.tree.refresh();
      const t = api.tree.traffic('wl:Deployment/orders/orders');
      return t && t.retransmits > 0 ? t : undefined;
    });
    assert.ok(orders.retransmits > 0);
    const agents = api.tree.getChildren({ type: 'agents' });
    assert.deepEqual(agents, [
      { type: 'agentNode', node: 'node-a' },
      { type: 'agentNode', node: 'node-b' },
      { type: 'agentNode', node: 'node-c' },
    ]);
    assert.ok(agents.every((n) => /^streaming/.test(String(api.tree.getTreeItem(n).description))));
    await vscode.commands.executeCommand('workbench.view.extension.flowlens');
    await screenshot('tree');
  });

  test('Agent Status lists every node with a ready agent', async () => {
    const status = (await vscode.commands.executeCommand(COMMANDS.agentStatus, { quiet: true })) as NodeRollout[];
    assert.deepEqual(
      status.map((n) => [n.node, n.ready, n.image]),
      [
        ['node-a', true, 'flowlens-agent:vscode'],
        ['node-b', true, 'flowlens-agent:vscode'],
        ['node-c', true, 'flowlens-agent:vscode'],
      ],
    );
  });

  test('Remove Agent deletes it and the nodes show as without agent; deploying again restores it', async () => {
    const removed = (await vscode.commands.executeCommand(COMMANDS.removeAgent, { confirmed: true })) as string[];
    assert.ok(removed.includes('DaemonSet flowlens-system/flowlens-agent'), removed.join(', '));
    await eventually('no agent streaming', () => (api.session()!.agents.status().every((c) => c.state !== 'streaming') ? true : undefined));
    const result = (await vscode.commands.executeCommand(COMMANDS.deployAgent, { image: 'flowlens-agent:vscode' })) as RolloutProgress | undefined;
    assert.equal(result?.ready, 3);
  });

  test('an unreachable cluster is named in the tree, and the extension recovers when it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-kc-'));
    const nowhere = join(dir, 'nowhere.kubeconfig');
    writeFileSync(
      nowhere,
      'apiVersion: v1\nkind: Config\nclusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: gone, context: {cluster: gone, user: u}}]\ncurrent-context: gone\n',
    );
    await setKubeconfig(nowhere);
    const message = await eventually('an error message in the tree', async () => {
      await api.connected();
      const m = contextChildren().find((n) => n.type === 'message');
      return m?.type === 'message' && api.session()?.identity.context === 'gone' ? m : undefined;
    });
    assert.ok(message.type === 'message' && message.error);
    assert.match(message.type === 'message' ? message.text : '', /the API server is unreachable \(context gone, https:\/\/127\.0\.0\.1:1\) \(ECONNREFUSED\)/);
    await setKubeconfig(kubeconfig);
    await eventually('back on the sandbox with namespaces', async () => {
      await api.connected();
      return api.session()?.identity.context === 'flowlens-sandbox' && contextChildren().some((n) => n.type === 'namespace') ? true : undefined;
    });
  });
});
