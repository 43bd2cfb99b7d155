/**
 * Offline mode in a real extension host: the demo recording shipped with FlowLens opens without any
 * cluster, and the tree, the service map and policy generation work on it; a broken recording is refused
 * with its file and line, and what was open stays open.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { eventually, screenshot } from './workbench';
import { ClusterTreeProvider, type TreeNode } from '../../src/extension/cluster-tree';
import { COMMANDS } from '../../src/extension/command-ids';
import type { FlowLensApi } from '../../src/extension/extension';

const REPO_ROOT = resolve(__dirname, '../../..');
const DEMO = join(REPO_ROOT, 'examples', 'demo', 'demo.flows.jsonl');

suite('extension host: a recording, offline', function () {
  this.timeout(120_000);
  let api: FlowLensApi;

  suiteSetup(async () => {
    api = (await vscode.extensions.getExtension('flowlens.flowlens')!.activate()) as FlowLensApi;
  });

  test('without a cluster, the tree offers the demo recording, and its item opens it', async () => {
    const tree = new ClusterTreeProvider(() => 300_000, () => undefined, vscode.Uri.file(DEMO));
    try {
      tree.setSource(undefined, 'no kubeconfig found (looked at /nowhere/config)');
      assert.deepEqual(tree.getChildren({ type: 'context' }), [
        { type: 'message', text: 'no kubeconfig found (looked at /nowhere/config)', error: true },
        { type: 'openDemo' },
      ]);
      const command = tree.getTreeItem({ type: 'openDemo' }).command!;
      assert.equal(command.command, COMMANDS.openRecording);
      assert.equal(await vscode.commands.executeCommand(command.command, ...(command.arguments ?? [])), 'opened');
      assert.equal(api.source()?.label, 'demo.flows.jsonl');
    } finally {
      tree.dispose();
    }
  });

  test('Open Recording on the demo recording: the tree shows its namespaces and workloads with traffic, and no agents', async () => {
    assert.equal(await vscode.commands.executeCommand(COMMANDS.openRecording, vscode.Uri.file(DEMO)), 'opened');
    await api.connected();
    const source = api.source();
    assert.equal(source?.kind, 'recording');
    assert.equal(source.label, 'demo.flows.jsonl');
    const children = api.tree.getChildren({ type: 'context' });
    const namespaces = children.filter((n) => n.type === 'namespace').map((n) => (n as { name: string }).name);
    for (const ns of ['ui', 'catalog', 'carts', 'orders', 'checkout', 'gallery', 'kube-system']) {
      assert.ok(namespaces.includes(ns), `namespace ${ns} (${namespaces.join(', ')})`);
    }
    assert.ok(!children.some((n) => n.type === 'agents'), 'a recording has no agents');
    assert.equal(api.tree.getTreeItem({ type: 'context' }).description, 'recording');
    const ui = api.tree.traffic('wl:Deployment/ui/ui');
    assert.ok(ui && ui.bytes > 0 && ui.flows >= 3, `ui's traffic in the recording's last window: ${JSON.stringify(ui)}`);
    const orders = api.tree.traffic('wl:Deployment/orders/orders');
    assert.ok(orders && orders.retransmits > 0 && orders.failed > 0, `the demo's lossy, half-served orders: ${JSON.stringify(orders)}`);
    await vscode.commands.executeCommand('workbench.view.extension.flowlens');
    await screenshot('recording-tree');
  });

  test('the service map shows the recording, and policies generate from it', async () => {
    await vscode.commands.executeCommand(COMMANDS.showMap, { type: 'namespace', name: 'gallery' } satisfies TreeNode);
    const panel = await eventually('the map panel with a snapshot', () => {
      const p = api.mapPanel();
      return p?.received.includes('ready') && p.posted.snapshots > 0 ? p : undefined;
    });
    assert.equal(panel.panel.title, 'FlowLens: demo.flows.jsonl');
    await screenshot('recording-map');
    const doc = (await vscode.commands.executeCommand(COMMANDS.generatePolicy, { type: 'namespace', name: 'gallery' } satisfies TreeNode, { direction: 'egress' })) as vscode.TextDocument;
    const text = doc.getText();
    assert.match(text, /name: photos-egress/);
    // The cloud and internet peers of the demo are exact addresses.
    for (const ip of ['203.0.113.10/32', '203.0.113.20/32', '198.51.100.10/32']) {
      assert.ok(text.includes(`cidr: ${ip}`), `${ip} in\n${text}`);
    }
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    panel.dispose();
  });

  test('a broken recording is refused with its file and line, and the open recording stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-rec-'));
    try {
      const lines = readFileSync(DEMO, 'utf8').split('\n');
      lines.splice(2, 0, '{"v": 1, "start": "yesterday"}');
      writeFileSync(join(dir, 'broken.flows.jsonl'), lines.join('\n'));
      writeFileSync(join(dir, 'broken.cluster.yaml'), readFileSync(join(REPO_ROOT, 'examples', 'demo', 'demo.cluster.yaml')));
      const before = api.source();
      const broken = (await vscode.commands.executeCommand(COMMANDS.openRecording, vscode.Uri.file(join(dir, 'broken.flows.jsonl')))) as { error: string };
      assert.match(broken.error, /^cannot open the recording .*broken\.flows\.jsonl: broken\.flows\.jsonl:3: /);
      assert.equal(api.source(), before);
      const missing = join(dir, 'alone.flows.jsonl');
      writeFileSync(missing, readFileSync(DEMO));
      const alone = (await vscode.commands.executeCommand(COMMANDS.openRecording, vscode.Uri.file(missing))) as { error: string };
      assert.match(alone.error, /^cannot read the cluster snapshot that goes with the recording .*alone\.cluster\.yaml: /);
      assert.equal(api.source(), before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
