/**
 * The extension against the sandbox cluster, in a real extension host: connect through the
 * flowlens.kubeconfig setting, deploy the agent, flows from every node reach the store through
 * port-forward, the tree shows the demo's namespaces and workloads with their traffic, status, removal,
 * and an unreachable cluster shown as such and recovered from. Skipped without FLOWLENS_SANDBOX_KUBECONFIG.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import * as vscode from 'vscode';
import { ClusterProxy } from './cluster-proxy';
import { eventually, screenshot } from './workbench';
import { parseManifests } from '../../src/core/kube/manifest';
import { parsePolicyDocument } from '../../src/core/policy/policy-document';
import { requestJson } from '../../src/cluster/raw-api';
import type { NodeRollout, RolloutProgress } from '../../src/cluster/agent-deployment';
import type { TreeNode } from '../../src/extension/cluster-tree';
import type { ApplyResult } from '../../src/extension/policy-review';
import type { RecordingSummary } from '../../src/extension/recording-commands';
import { COMMANDS } from '../../src/extension/command-ids';
import type { FlowLensApi } from '../../src/extension/extension';


suite('extension host: a live cluster (sandbox)', function () {
  this.timeout(300_000);
  let api: FlowLensApi;
  let kubeconfig: string;
  /** Kubeconfigs and recordings the tests write; removed with the suite. */
  let tmp: string;

  const setKubeconfig = (path: string) => vscode.workspace.getConfiguration('flowlens').update('kubeconfig', path, vscode.ConfigurationTarget.Global);
  const contextChildren = (): TreeNode[] => api.tree.getChildren({ type: 'context' });

  suiteSetup(async function () {
    kubeconfig = process.env.FLOWLENS_SANDBOX_KUBECONFIG ?? '';
    if (!kubeconfig) {
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-live-'));
    api = (await vscode.extensions.getExtension('flowlens.flowlens')!.activate()) as FlowLensApi;
    await setKubeconfig(kubeconfig);
    await eventually('a session on the sandbox', async () => {
      await api.connected();
      return api.session()?.identity.context === 'flowlens-sandbox' ? true : undefined;
    });
  });

  suiteTeardown(() => {
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('Deploy Agent applies the agent and every node streams flows through port-forward', async () => {
    const result = (await vscode.commands.executeCommand(COMMANDS.deployAgent, { image: 'flowlens-agent:vscode' })) as RolloutProgress | undefined;
    assert.ok(result, 'the deploy command reported success');
    assert.deepEqual([result.desired, result.ready], [3, 3]);
    await eventually('all three agents streaming', () => (api.session()!.agents().filter((c) => c.state === 'streaming').length === 3 ? true : undefined));
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

  test('Show in Service Map and Show Flows open the map panel on the tree item; the webview gets the live flows', async () => {
    await vscode.commands.executeCommand(COMMANDS.showMap, { type: 'namespace', name: 'ui' } satisfies TreeNode);
    const panel = await eventually('the map panel, ready', () => {
      const p = api.mapPanel();
      return p?.received.includes('ready') && p.posted.snapshots > 0 ? p : undefined;
    });
    assert.equal(panel.panel.title, 'FlowLens: flowlens-sandbox');
    await eventually('deltas as flows arrive', () => (panel.posted.deltas > 0 ? true : undefined), 30_000);
    await screenshot('service-map');
    await vscode.commands.executeCommand(COMMANDS.showFlows, { type: 'workload', namespace: 'orders', kind: 'Deployment', name: 'orders' } satisfies TreeNode);
    assert.equal(api.mapPanel(), panel, 'one panel, revealed again');
    await screenshot('show-flows');
  });

  test('Generate NetworkPolicy on a workload opens valid YAML with its evidence', async () => {
    const doc = (await vscode.commands.executeCommand(COMMANDS.generatePolicy, { type: 'workload', namespace: 'ui', kind: 'Deployment', name: 'ui' } satisfies TreeNode, {
      direction: 'both',
      dns: true,
    })) as vscode.TextDocument;
    const text = doc.getText();
    assert.equal(doc.languageId, 'yaml');
    assert.match(text, /^# Generated by FlowLens for Deployment ui\/ui, direction both, with DNS egress\./);
    const parsed = parseManifests(text, 'generated.yaml');
    assert.deepEqual(parsed.errors, []);
    // ui is the demo's client: it only calls out.
    assert.deepEqual(
      parsed.objects.map((o) => `${o.kind} ${(o.value as { namespace?: string }).namespace}/${o.value.name}`),
      ['NetworkPolicy ui/ui-egress'],
    );
    assert.match(text, /port: http/);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('Apply (dry-run first) applies a generated policy with field manager flowlens; the same again is unchanged', async () => {
    const doc = (await vscode.commands.executeCommand(COMMANDS.generatePolicy, { type: 'workload', namespace: 'ui', kind: 'Deployment', name: 'ui' } satisfies TreeNode, {
      direction: 'egress',
      dns: true,
    })) as vscode.TextDocument;
    const net = new KubeConfig();
    net.loadFromFile(kubeconfig);
    const api8s = net.makeApiClient(NetworkingV1Api);
    try {
      await eventually('checked, without problems', () =>
        api.diagnostics.timings.has(doc.uri.toString()) && vscode.languages.getDiagnostics(doc.uri).filter((d) => d.severity <= vscode.DiagnosticSeverity.Warning).length === 0 ? true : undefined,
      );
      // Without the rule for catalog (and checkout) the policy would block observed traffic: declining the dialog applies nothing.
      const parsed = parsePolicyDocument(doc.getText());
      const egress = parsed.policies[0].policy!.egress;
      const catalog = egress.findIndex((_, i) => {
        const r = parsed.policies[0].rangeOf(['spec', 'egress', i]);
        return doc.getText().slice(r.start, r.end).includes('kubernetes.io/metadata.name: catalog\n');
      });
      const original = doc.getText();
      const drop = new vscode.WorkspaceEdit();
      for (const e of parsed.policies[0].removeItem(['spec', 'egress', catalog])!) {
        drop.replace(doc.uri, new vscode.Range(doc.positionAt(e.start), doc.positionAt(e.end)), e.newText);
      }
      assert.ok(await vscode.workspace.applyEdit(drop));
      const declined = (await vscode.commands.executeCommand(COMMANDS.applyPolicy, doc.uri, 0, { confirm: false })) as ApplyResult;
      assert.equal(declined.outcome, 'cancelled');
      assert.deepEqual(
        declined.outcome === 'cancelled' ? declined.newlyDenied.map((g) => `${g.client.label} -> ${g.server.label} ${g.port}`).sort() : [],
        // catalog and checkout share that rule (the same port, http).
        ['Deployment ui/ui -> Deployment catalog/catalog 8080', 'Deployment ui/ui -> Deployment checkout/checkout 8080'],
      );
      await assert.rejects(api8s.readNamespacedNetworkPolicy({ name: 'ui-egress', namespace: 'ui' }), 'nothing was applied');
      const restore = new vscode.WorkspaceEdit();
      restore.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), original);
      assert.ok(await vscode.workspace.applyEdit(restore));
      const applied = (await vscode.commands.executeCommand(COMMANDS.applyPolicy, doc.uri, 0, { confirm: true })) as ApplyResult;
      assert.equal(applied.outcome, 'applied', JSON.stringify(applied));
      assert.deepEqual(
        applied.outcome === 'applied' ? applied.changes.map((c) => [c.action, c.namespace, c.name]) : [],
        [['create', 'ui', 'ui-egress']],
      );
      assert.deepEqual(applied.outcome === 'applied' ? applied.newlyDenied : undefined, []);
      const diffSides = vscode.workspace.textDocuments.filter((d) => d.uri.scheme === 'flowlens-diff');
      assert.ok(diffSides.length > 0, 'the diff was shown');
      // Its read-only sides are not policy documents to check or apply.
      assert.deepEqual(diffSides.flatMap((d) => vscode.languages.getDiagnostics(d.uri)), []);
      assert.deepEqual(await vscode.commands.executeCommand('vscode.executeCodeLensProvider', diffSides[0].uri), []);
      const inCluster = await api8s.readNamespacedNetworkPolicy({ name: 'ui-egress', namespace: 'ui' });
      assert.ok(inCluster.metadata?.managedFields?.some((m) => m.manager === 'flowlens' && m.operation === 'Apply'));
      await screenshot('applied');
      assert.deepEqual(await vscode.commands.executeCommand(COMMANDS.applyPolicy, doc.uri, 0, { confirm: true }), { outcome: 'unchanged' });
      // Another field manager (a GitOps controller, say) takes the pod selector: a conflict, named, until the user takes ownership.
      await requestJson(net, {
        method: 'PATCH',
        path: '/apis/networking.k8s.io/v1/namespaces/ui/networkpolicies/ui-egress',
        query: { fieldManager: 'gitops', force: 'true' },
        contentType: 'application/apply-patch+yaml',
        body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'ui-egress', namespace: 'ui' }, spec: { podSelector: { matchLabels: { app: 'ui-v2' } } } },
      });
      const refused = (await vscode.commands.executeCommand(COMMANDS.applyPolicy, doc.uri, 0, { confirm: true, force: false })) as ApplyResult;
      assert.equal(refused.outcome, 'refused');
      assert.match(refused.outcome === 'refused' ? refused.reason : '', /gitops/);
      const taken = (await vscode.commands.executeCommand(COMMANDS.applyPolicy, doc.uri, 0, { confirm: true, force: true })) as ApplyResult;
      assert.deepEqual(taken.outcome === 'applied' ? taken.changes.map((c) => c.action) : taken, ['update']);
      const back = await api8s.readNamespacedNetworkPolicy({ name: 'ui-egress', namespace: 'ui' });
      assert.deepEqual(back.spec?.podSelector?.matchLabels, { app: 'ui' });
    } finally {
      await api8s.deleteNamespacedNetworkPolicy({ name: 'ui-egress', namespace: 'ui' }).catch(() => undefined);
      // Revert the untitled document first: closing it dirty would ask whether to save.
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
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
    await eventually('no agent streaming', () => (api.session()!.agents().every((c) => c.state !== 'streaming') ? true : undefined));
    const result = (await vscode.commands.executeCommand(COMMANDS.deployAgent, { image: 'flowlens-agent:vscode' })) as RolloutProgress | undefined;
    assert.equal(result?.ready, 3);
  });

  test('Record Flows writes the live stream and, on stop, the cluster snapshot beside it; the pair opens as a recording', async () => {
    const path = join(tmp, 'live.flows.jsonl');
    assert.equal(await vscode.commands.executeCommand(COMMANDS.startRecording, path), path);
    const started = Date.now();
    await eventually('records from every node, over two agent windows', () => {
      const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
      const nodes = new Set(lines.map((l) => (JSON.parse(l) as { node: string }).node));
      return nodes.size === 3 && Date.now() - started > 11_000 ? true : undefined;
    });
    await screenshot('recording');
    const summary = (await vscode.commands.executeCommand(COMMANDS.stopRecording)) as RecordingSummary;
    const text = readFileSync(path, 'utf8');
    assert.equal(text.split('\n').filter((l) => l !== '').length, summary.records);
    assert.equal(Buffer.byteLength(text), summary.bytes);
    assert.equal(summary.snapshotPath, path.replace(/\.flows\.jsonl$/, '.cluster.yaml'));
    assert.equal(await vscode.commands.executeCommand(COMMANDS.openRecording, vscode.Uri.file(path)), 'opened');
    assert.equal(api.source()?.kind, 'recording');
    assert.ok(contextChildren().some((n) => n.type === 'namespace' && n.name === 'ui'));
    assert.ok((api.tree.traffic('wl:Deployment/ui/ui')?.bytes ?? 0) > 0, 'ui has traffic in the recording');
    await vscode.commands.executeCommand(COMMANDS.switchContext, 'flowlens-sandbox');
    assert.equal(api.source()?.kind, 'live');
  });

  test('Switch Context moves to another context; an API server that stops mid-stream is named, and the session recovers when it returns', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const sandbox = kc.getCurrentCluster()!;
    const proxy = await ClusterProxy.start(sandbox.server);
    try {
      // The same cluster and credentials under a second context that goes through the proxy.
      kc.addCluster({ ...sandbox, name: 'via-proxy', server: proxy.url });
      kc.addContext({ name: 'via-proxy', cluster: 'via-proxy', user: kc.getCurrentUser()!.name });
      const two = join(tmp, 'two-contexts.kubeconfig');
      writeFileSync(two, kc.exportConfig());
      await setKubeconfig(two);
      await eventually('on the two-context kubeconfig, its current context', async () => {
        await api.connected();
        return api.session()?.identity.context === 'flowlens-sandbox' && api.session()?.kubeConfig.getContexts().length === 2 ? true : undefined;
      });
      await vscode.commands.executeCommand(COMMANDS.switchContext, 'via-proxy');
      await eventually('via-proxy streaming from every agent', () => {
        const s = api.session();
        return s?.identity.context === 'via-proxy' && s.identity.server === proxy.url && s.agents().filter((c) => c.state === 'streaming').length === 3 && s.store.newest !== undefined ? true : undefined;
      });
      const before = api.session()!;

      await proxy.stop();
      // First the cut watches, then, as the informers try again, the refused connections.
      const where = `\\(context via-proxy, ${proxy.url.replace(/[.]/g, '\\.')}\\)`;
      const lost = await eventually('the tree names the lost API server', () => {
        const m = contextChildren().find((n) => n.type === 'message');
        return m?.type === 'message' ? m.text : undefined;
      });
      assert.match(lost, new RegExp(`^cannot (watch|list) \\w+: (lost the connection to the API server ${where}|the API server is unreachable ${where} \\(ECONN(RESET|REFUSED)\\))\\. Check that the cluster is running`));
      await eventually('the refused reconnection named', () => {
        const m = contextChildren().find((n) => n.type === 'message');
        return m?.type === 'message' && new RegExp(`the API server is unreachable ${where} \\(ECONNREFUSED\\)`).test(m.text) ? true : undefined;
      });
      await eventually('every agent stream shown as down', () => (before.agents().every((c) => c.state !== 'streaming') ? true : undefined));
      api.tree.refresh();
      await screenshot('cluster-stopped');

      const stoppedAt = Date.now();
      await proxy.resume();
      await eventually(
        'the same session recovered: no error, every agent streaming, new flows',
        () => {
          api.tree.refresh();
          return api.session() === before && !contextChildren().some((n) => n.type === 'message') && before.agents().every((c) => c.state === 'streaming') && (before.store.newest ?? 0) > stoppedAt ? true : undefined;
        },
        120_000,
      );
    } finally {
      await proxy.stop();
      await vscode.commands.executeCommand(COMMANDS.switchContext, 'flowlens-sandbox');
      await setKubeconfig(kubeconfig);
    }
  });

  test('an unreachable cluster is named in the tree, and the extension recovers when it is back', async () => {
    const nowhere = join(tmp, 'nowhere.kubeconfig');
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
