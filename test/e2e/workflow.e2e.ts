/**
 * The end-to-end workflow test (issue 8): FlowLens as a user meets it. The packaged .vsix is installed into
 * the real VS Code workbench (code-server, started by scripts/workbench.sh, the script that gives users
 * their workbench, here in a throwaway directory), against the sandbox cluster, and headless Chromium works
 * it with the keyboard and the mouse only:
 *
 *   the FlowLens view opened, Deploy Agent from the palette → the tree shows the demo namespaces with traffic → the service map shows
 *   the demo's workloads and edges → ui's edges selected with the map's keyboard support → Generate
 *   NetworkPolicy (egress, saved into the workspace) → the YAML opens with no errors → one needed rule
 *   deleted → a warning names the flow it would block → the quick fix restores the rule → Apply (dry-run
 *   first) → confirmed in the dialog → the policy is in the cluster, written by the field manager flowlens.
 *
 * Every step is a test of its own, asserting on what the screen shows (tree rows, the map's announcements,
 * the Problems panel, notifications, dialogs) and on the saved file; a step whose prerequisite step failed
 * is skipped. A screenshot per step goes to out/test-artifacts/e2e/NN-step.png, with the workbench's logs.
 * The policy it applied (only that one) is deleted at the end; code-server and Chromium are always stopped.
 *
 * Usage: node out/test/e2e/workflow.e2e.js [--grep pattern]
 * Environment: FLOWLENS_SANDBOX_KUBECONFIG (the cluster; without it every step is skipped), FLOWLENS_VSIX
 * (install this package instead of running `npm run package`), FLOWLENS_CODE_SERVER, FLOWLENS_CHROMIUM,
 * FLOWLENS_RESULTS (where e2e.json goes, as for the other suites).
 */
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, NetworkingV1Api, type V1NetworkPolicy } from '@kubernetes/client-node';
import Mocha from 'mocha';
import { parseAllDocuments } from 'yaml';
import type { BrowserContext, Page } from 'playwright-core';
import { cleanupOnSignals, freePort, launchChromium, ProcessGroup, REPO_ROOT, writeSuiteResult } from '../vscode/code-server-process';
import { ServiceMapUi } from './service-map-ui';
import { until, WorkbenchUi } from './workbench-ui';

const ARTIFACTS = join(REPO_ROOT, 'out/test-artifacts/e2e');
const AGENT_IMAGE = 'flowlens-agent:e2e';
/** Namespaces and workloads of the demo application with traffic (sandbox/manifests/demo.yaml). */
const DEMO_NAMESPACES = ['ui', 'catalog', 'carts', 'checkout', 'orders', 'gallery', 'kube-system'];
const DEMO_WORKLOADS = ['ui/ui', 'catalog/catalog', 'carts/carts', 'checkout/checkout', 'orders/orders', 'kube-system/coredns', 'gallery/photos'];
/** ui's calls in the demo, as the map announces its links: to each Service's target port, and DNS. */
const UI_LINKS = [/^ui\/ui → carts\/carts · 8081\/TCP/, /^ui\/ui → catalog\/catalog · 8080\/TCP/, /^ui\/ui → checkout\/checkout · 8080\/TCP/, /^ui\/ui → kube-system\/coredns · 53\/UDP/];
/** The rule the edit step deletes (its evidence comment names the peer). */
const DROPPED_PEER = 'Deployment carts/carts';

function log(message: string): void {
  console.log(`[e2e] ${message}`);
}

interface Workbench {
  readonly ui: WorkbenchUi;
  readonly page: Page;
  /** The folder the workbench opened (scripts/workbench.sh: <its directory>/workspace). */
  readonly workspace: string;
}

/** What the steps hand on to each other. */
interface Flow {
  map?: ServiceMapUi;
  /** The generated file, saved into the workspace. */
  file?: string;
  /** The policy the test applied, to delete at the end. */
  applied?: { namespace: string; name: string };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const grepAt = args.indexOf('--grep');
  const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const kubeconfig = process.env.FLOWLENS_SANDBOX_KUBECONFIG || undefined;

  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'flowlens-e2e-'));
  const workbenchDir = join(tmp, 'workbench');

  let server: ProcessGroup | undefined;
  let context: BrowserContext | undefined;
  let workbench: Workbench | undefined;
  let startError: Error | undefined;
  const flow: Flow = {};
  const networking = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig!);
    return kc.makeApiClient(NetworkingV1Api);
  };

  const cleanup = cleanupOnSignals('e2e', async () => {
    if (flow.applied) {
      const { namespace, name } = flow.applied;
      await networking()
        .deleteNamespacedNetworkPolicy({ namespace, name })
        .then(
          () => log(`deleted the policy it applied, ${namespace}/${name}`),
          (e: unknown) => log(`could not delete ${namespace}/${name}: ${String(e)}`),
        );
    }
    await context?.close().catch(() => undefined);
    await server?.stop();
    // The workbench's logs (the extension host's, FlowLens's output channel) stay with the screenshots.
    if (existsSync(join(workbenchDir, 'user-data/logs'))) {
      cpSync(join(workbenchDir, 'user-data/logs'), join(ARTIFACTS, 'logs'), { recursive: true });
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  const start = async (): Promise<Workbench> => {
    const port = await freePort();
    server = new ProcessGroup(
      'bash',
      [
        join(REPO_ROOT, 'scripts/workbench.sh'),
        '--kubeconfig', kubeconfig!,
        ...(process.env.FLOWLENS_VSIX ? ['--vsix', process.env.FLOWLENS_VSIX] : []),
        // Deploy Agent asks nothing when the image is set; the sandbox runs its own agent for any image.
        '--setting', `flowlens.agent.image=${JSON.stringify(AGENT_IMAGE)}`,
      ],
      { cwd: REPO_ROOT, env: { ...process.env, FLOWLENS_WORKBENCH_DIR: workbenchDir, FLOWLENS_WORKBENCH_PORT: String(port) }, logFile: join(ARTIFACTS, 'workbench.log') },
    );
    const base = `http://127.0.0.1:${port}`;
    // Packaging (npm run package) and installing come first: minutes, not seconds, on a cold cache.
    await server.waitHealthy(base, 600_000).catch((e: Error) => {
      throw new Error(`${e.message}; see ${join(ARTIFACTS, 'workbench.log')}`);
    });
    log(`workbench on ${base} after ${elapsed()}`);
    const browser = await launchChromium(join(tmp, 'chromium'), join(ARTIFACTS, 'browser-console.log'), { width: 1600, height: 1000 });
    context = browser.context;
    await browser.page.goto(`${base}/`);
    const ui = new WorkbenchUi(browser.page);
    await ui.waitReady();
    log(`workbench loaded after ${elapsed()}`);
    return { ui, page: browser.page, workspace: join(workbenchDir, 'workspace') };
  };

  const mocha = new Mocha({ ui: 'tdd', reporter: 'spec', timeout: 60_000, ...(grep ? { grep } : {}) });
  const suite = Mocha.Suite.create(mocha.suite, 'e2e: the FlowLens workflow in the VS Code workbench, against the sandbox');
  suite.beforeAll('start code-server with the packaged extension, open it in Chromium', async function (this: Mocha.Context) {
    if (!kubeconfig) {
      log('FLOWLENS_SANDBOX_KUBECONFIG is not set: no cluster to work against, every step is skipped');
      this.skip();
    }
    this.timeout(720_000);
    try {
      workbench = await start();
    } catch (e) {
      // Every step then fails with this, and counts as failed.
      startError = e as Error;
    }
  });

  const outcome = new Map<string, 'passed' | 'failed'>();
  let shot = '';
  /** A step: its screenshot name, what it shows, the steps it builds on, and the actions and assertions. */
  const step = (name: string, title: string, needs: readonly string[], timeoutMs: number, run: (wb: Workbench) => Promise<void>) => {
    const test = new Mocha.Test(`${name}: ${title}`, async function (this: Mocha.Context) {
      shot = name;
      if (startError) {
        throw startError;
      }
      const missing = needs.filter((n) => outcome.get(n) !== 'passed');
      if (missing.length > 0) {
        log(`skipped: it builds on ${missing.join(', ')}, which did not pass`);
        this.skip();
      }
      await run(workbench!);
    });
    // After addTest, which gives every test the suite's timeout.
    suite.addTest(test);
    test.timeout(timeoutMs);
  };
  suite.afterEach(async function (this: Mocha.Context) {
    const test = this.currentTest!;
    if (test.state === 'passed' || test.state === 'failed') {
      outcome.set(shot, test.state);
      await workbench?.page.screenshot({ path: join(ARTIFACTS, `${shot}.png`) }).catch((e: unknown) => log(`screenshot ${shot} failed: ${String(e)}`));
    }
  });
  /** An extra screenshot in the middle of a step. */
  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

  step('01-deploy-agent', 'FlowLens: Deploy Agent from the palette rolls the agent out without asking anything', [], 240_000, async ({ ui, page }) => {
    // The FlowLens view first, as after installing: the extension activates when its view opens, and the
    // palette lists Deploy Agent only once it is connected to a cluster (when: flowlens.source == live).
    await ui.showFlowLensView();
    await ui.runCommand('FlowLens: Deploy Agent');
    // Deploying with the image from the settings, and no question left open (the palette closes, no pick follows).
    const progress = await ui.notification(/deploying the agent/);
    assert.match(progress, new RegExp(`deploying the agent \\(${AGENT_IMAGE}\\)`), 'the image from the settings');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 });
    await screenshot(page, '01-deploy-agent-progress');
    let seen: string[] = [];
    const done = await until(
      'the notification that the agent runs on every node',
      async () => {
        seen = await ui.notificationsOnScreen();
        return seen.find((m) => /the agent runs on all \d+ nodes/.test(m));
      },
      200_000,
      () => seen.join(' | '),
    );
    log(done);
  });

  step('02-tree-traffic', 'the tree shows the demo namespaces with traffic and every agent streaming', [], 120_000, async ({ ui }) => {
    await ui.showFlowLensView();
    let rows: string[] = [];
    await until(
      'traffic on every demo namespace and all agents streaming',
      async () => {
        rows = await ui.treeRowLabels();
        const flows = new Map(rows.map((r) => /^([\w-]+): \d+ bytes, (\d+) flows?,/.exec(r)).flatMap((m) => (m ? [[m[1], Number(m[2])] as const] : [])));
        const agents = rows.map((r) => /^Agent (\d+)\/(\d+) nodes streaming/.exec(r)).find((m) => m);
        return DEMO_NAMESPACES.every((ns) => (flows.get(ns) ?? 0) > 0) && agents && agents[1] === agents[2] && Number(agents[2]) > 0 ? true : undefined;
      },
      90_000,
      () => rows.join(' | '),
    );
  });

  step('03-service-map', 'FlowLens: Show Service Map shows the demo workloads and their edges', [], 150_000, async ({ ui, page }) => {
    await ui.runCommand('FlowLens: Show Service Map');
    const map = new ServiceMapUi(page, await ui.webviewFrame('canvas.map-canvas'));
    flow.map = map;
    await until('the demo workloads on the map', async () => ((await map.counts()).nodes >= DEMO_WORKLOADS.length ? true : undefined), 60_000);
    await map.focus();
    const nodes = [...(await map.walk())].map((a) => a.split(',')[0]);
    assert.deepEqual(DEMO_WORKLOADS.filter((w) => !nodes.includes(w)), [], `workloads the arrow keys reach on the map: ${nodes.join(', ')}`);
    // The agent was deployed moments ago: each of ui's calls (0.5/s to checkout) shows once it has happened in a closed window.
    let links: string[] = [];
    await until(
      "every one of ui's links on the map",
      async () => {
        links = await map.linksOfFocused(ServiceMapUi.linkCount(await map.focusNode('ui/ui')));
        return UI_LINKS.every((want) => links.some((l) => want.test(l))) ? true : undefined;
      },
      60_000,
      () => links.join(' | '),
    );
    for (const want of UI_LINKS) {
      assert.ok(links.some((l) => want.test(l)), `ui's links on the map: ${links.join(' | ')}; expected one like ${want}`);
    }
  });

  step('04-select-edges', "ui's edges are selected with the keyboard", ['03-service-map'], 60_000, async () => {
    const map = flow.map!;
    const node = await map.focusNode('ui/ui');
    const selected = await map.selectLinksOfFocused(ServiceMapUi.linkCount(node), (l) => UI_LINKS.some((w) => w.test(l)));
    assert.equal(selected.length, UI_LINKS.length, `selected: ${selected.join(' | ')}`);
    await until('the selection in the details panel', async () => ((await map.details.innerText()).includes(`0 nodes, ${UI_LINKS.length} links selected`) ? true : undefined), 10_000);
    const details = await map.details.innerText();
    for (const peer of ['carts/carts', 'catalog/catalog', 'checkout/checkout', 'kube-system/coredns']) {
      assert.ok(details.includes(`ui/ui → ${peer}`), `the details panel lists ui/ui → ${peer}: ${details}`);
    }
    assert.equal((await map.generateButton.innerText()).trim(), `Generate NetworkPolicy (${UI_LINKS.length})`);
  });

  step('05-generate', 'Generate NetworkPolicy opens the YAML, saved in the workspace, with no errors', ['04-select-edges'], 90_000, async ({ ui, page, workspace }) => {
    await flow.map!.generateButton.click();
    const options = await ui.quickPick('NetworkPolicy options');
    assert.deepEqual(
      options.filter((o) => o.checked).map((o) => o.label.split(',')[0]),
      ['Ingress', 'Egress', 'Allow DNS egress'],
      'the preselected options',
    );
    // Egress only: ui's own policy, in namespace ui. With Ingress, the selected edges' servers (catalog,
    // carts, checkout, coredns) would get policies in namespaces that other tests of the sandbox use.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    assert.deepEqual((await ui.quickPickRows()).filter((o) => o.checked).map((o) => o.label.split(',')[0]), ['Egress', 'Allow DNS egress']);
    await page.keyboard.press('Enter');
    await ui.quickPick('where should the NetworkPolicies go');
    await page.keyboard.type('Save in');
    // Enter only once the filter has left that one choice: an Enter on no match cancels the pick.
    await until('the workspace folder as the only choice', async () => {
      const rows = await ui.quickPickRows();
      return rows.length === 1 && rows[0].label.includes('Save in') ? true : undefined;
    }, 10_000);
    await page.keyboard.press('Enter');

    const file = join(workspace, 'networkpolicies', 'selected-networkpolicies.yaml');
    await until('the generated file in the active editor', async () => ((await ui.activeTab()).includes('selected-networkpolicies.yaml') ? true : undefined));
    assert.ok(existsSync(file), `${file} was written`);
    flow.file = file;
    const policies = policiesIn(file);
    assert.deepEqual(
      policies.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`),
      ['ui/ui-egress'],
      'one egress policy for ui',
    );
    assert.ok(peersOf(policies[0]).includes('carts'), 'the policy allows ui → carts');
    // The lenses come with the diagnostics: once they show, the document has been checked.
    await ui.codeLens('Apply (dry-run first)').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    const problems = await ui.problems();
    assert.deepEqual(problems.filter((p) => /^Error/i.test(p)), [], 'errors in the Problems panel');
    assert.deepEqual(problems.filter((p) => p.includes('Blocks observed traffic')), [], 'the generated policy blocks no observed flow');
  });

  step('06-edit-drop-rule', 'deleting the rule for carts brings a warning naming the flow it blocks', ['05-generate'], 60_000, async ({ ui, page }) => {
    const rule = ruleLines(readFileSync(flow.file!, 'utf8'), DROPPED_PEER);
    // The Problems panel has the focus: back to the editor (Ctrl+1), then select the rule's lines and delete them.
    await page.keyboard.press('Control+1');
    await ui.editorFocused();
    await ui.selectLines(rule.start, rule.count);
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+s');
    await until('the edit saved', async () => (readFileSync(flow.file!, 'utf8').includes(DROPPED_PEER) ? undefined : true), 10_000);
    assert.ok(!peersOf(policiesIn(flow.file!)[0]).includes('carts'), 'the rule for carts is gone');
    let problems: string[] = [];
    const warning = await until(
      'a warning about the blocked flow ui → carts',
      async () => {
        problems = await ui.problems();
        return problems.find((p) => p.includes('Blocks observed traffic') && p.includes('carts/carts'));
      },
      30_000,
      () => problems.join(' | '),
    );
    assert.match(warning, /Warning/i);
    assert.match(warning, /Blocks observed traffic: .*ui\/ui.*→.*carts\/carts/);
    log(`warning: ${warning}`);
    assert.match(await ui.problemCounts(), /Warnings: [1-9]/);
  });

  step('07-quick-fix', 'the quick fix "Allow …" restores the rule and the warning goes', ['06-edit-drop-rule'], 60_000, async ({ ui, page }) => {
    // Enter on the problem opens the editor at it; Ctrl+. there lists its quick fixes.
    await ui.problemRow('Blocks observed traffic').first().click();
    await page.keyboard.press('Enter');
    await ui.editorFocused();
    await page.keyboard.press('Control+.');
    const fix = ui.actionItems().filter({ hasText: /Allow .*carts\/carts/ });
    await fix.first().waitFor({ timeout: 15_000 });
    await screenshot(page, '07-quick-fix-menu');
    await fix.first().click();
    await page.keyboard.press('Control+s');
    await until('the restored rule saved', async () => (peersOf(policiesIn(flow.file!)[0]).includes('carts') ? true : undefined), 10_000);
    let problems: string[] = [];
    await until(
      'the warning gone',
      async () => {
        problems = await ui.problems();
        return problems.some((p) => p.includes('Blocks observed traffic')) ? undefined : true;
      },
      30_000,
      () => problems.join(' | '),
    );
  });

  step('08-apply', 'Apply (dry-run first) shows the diff, asks, and the policy is in the cluster', ['05-generate'], 90_000, async ({ ui, page }) => {
    const [policy] = policiesIn(flow.file!);
    const namespace = policy.metadata!.namespace!;
    const name = policy.metadata!.name!;
    const api = networking();
    // Never overwrite (and later delete) a policy this test did not create.
    const before = await api.readNamespacedNetworkPolicy({ namespace, name }).then(
      () => true,
      () => false,
    );
    assert.equal(before, false, `${namespace}/${name} exists in the cluster already: not this test's to replace`);

    await page.keyboard.press('Control+1');
    await ui.codeLens('Apply (dry-run first)').first().click();
    await ui.dialog.waitFor({ timeout: 60_000 });
    const question = await ui.dialog.innerText();
    assert.match(question, new RegExp(`create ${namespace}/${name}`));
    assert.match(question, /No flow observed in .* would be newly blocked/);
    await until('the dry run diff', async () => ((await ui.activeTab()).includes(`${namespace}/${name}`) ? true : undefined), 10_000);
    await screenshot(page, '08-apply-confirm');
    await ui.dialog.getByRole('button', { name: 'Apply', exact: true }).click();
    flow.applied = { namespace, name };
    const done = await ui.notification(/FlowLens: applied to/, 60_000);
    assert.match(done, new RegExp(`created ${namespace}/${name}`));

    const live = await api.readNamespacedNetworkPolicy({ namespace, name });
    assert.ok(
      live.metadata?.managedFields?.some((f) => f.manager === 'flowlens'),
      `field managers: ${live.metadata?.managedFields?.map((f) => f.manager).join(', ')}`,
    );
    assert.deepEqual(peersOf(live), peersOf(policy), 'the egress peers in the cluster are those of the file');
  });

  suite.afterAll(cleanup);

  return new Promise((resolve) => {
    const runner = mocha.run((failures) => {
      const counts = { passed: runner.stats?.passes ?? 0, failed: failures, skipped: runner.stats?.pending ?? 0 };
      writeSuiteResult('e2e', counts);
      log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${elapsed()}; screenshots and logs in ${ARTIFACTS}`);
      resolve(failures > 0 ? 1 : 0);
    });
  });
}

/** The NetworkPolicies of a multi-document YAML file. */
function policiesIn(file: string): V1NetworkPolicy[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as V1NetworkPolicy);
}

/** The namespaces an egress policy allows traffic to (namespaceSelector kubernetes.io/metadata.name), sorted. */
function peersOf(policy: V1NetworkPolicy): string[] {
  const names = (policy.spec?.egress ?? []).flatMap((r) => (r.to ?? []).map((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? ''));
  return [...new Set(names)].sort();
}

/**
 * The lines (1-based start, count) of the egress rule whose peers include `peer`: from the evidence comment
 * above its `- to:` to the line before the next rule.
 */
function ruleLines(text: string, peer: string): { start: number; count: number } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === `# ${peer}`);
  assert.ok(at >= 0, `no rule for ${peer} in the generated file`);
  const isRuleStart = (l: string) => l.startsWith('  - ');
  const isRuleComment = (l: string) => l.startsWith('  # ');
  let start = at;
  while (!isRuleStart(lines[start])) {
    start--;
  }
  while (start > 0 && isRuleComment(lines[start - 1])) {
    start--;
  }
  let end = at + 1;
  while (end < lines.length && lines[end] !== '' && !isRuleStart(lines[end]) && !isRuleComment(lines[end]) && !lines[end].startsWith('---')) {
    end++;
  }
  return { start: start + 1, count: end - start };
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`[e2e] ${e instanceof Error ? e.message : String(e)}`);
    writeSuiteResult('e2e', { passed: 0, failed: 1, skipped: 0 });
    process.exit(1);
  },
);
