/**
 * The webview bundle (dist/webview.js, built by `npm run build`) in headless Debian Chromium, served from
 * loopback by the harness exactly as the extension serves it (same HTML and CSP with a nonce), with the
 * shop fixture pushed through the real enrichment, aggregation and snapshot code. Every test also checks
 * that the page threw nothing and that the CSP reported no violation (which would mean something tried to
 * evaluate code or load a resource it may not).
 */
import { strict as assert } from 'node:assert';
import type { Page } from 'playwright-core';
import { endpointIndex, buildMapGraph, NO_FILTERS } from '../../src/core/view/map-graph';
import { parseWebviewMessage, type EdgeView, type EndpointView, type ViewSnapshot, type WebviewMessage } from '../../src/core/view/protocol';
import { diffSnapshots } from '../../src/core/view/delta';
import { NOW_MS, shopSnapshot, syntheticSnapshot } from './fixtures';
import { launchBrowser, openWebview, pageErrors, postToWebview, posted, settle, violations, type Browser } from './harness/browser';
import type { PageGlobals } from './harness/page-globals';
import { startHarness, type Harness } from './harness/server';

const UI = 'wl:Deployment/ui/ui';
const ORDERS = 'wl:Deployment/orders/orders';
const CHECKOUT = 'wl:Deployment/checkout/checkout';
const CATALOG = 'wl:Deployment/catalog/catalog';
const GALLERY = 'wl:Deployment/gallery/gallery';

/** Sets a vscode-elements select's value as a user's choice would, and lets the webview react. */
async function choose(page: Page, selector: string, value: string | string[]): Promise<void> {
  await page.locator(selector).evaluate((e, v) => {
    (e as unknown as { value: unknown }).value = v;
    (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('change'));
  }, value);
  await settle(page);
}

async function graph(page: Page): Promise<{ level: string; nodes: string[]; links: string[]; groups: string[] }> {
  const g = await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.graph());
  assert.ok(g, 'the map has a graph');
  return g;
}

/** Clicks a link of the map at a point of its drawn path where no other link or node is hit. */
async function clickLink(page: Page, id: string, modifiers: ('Control' | 'Shift')[] = []): Promise<void> {
  const p = await page.evaluate((l) => {
    const f = (globalThis as unknown as PageGlobals).flowlens;
    for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75]) {
      const q = f.linkScreenPoint(l, t);
      if (q && f.hitTest(q.x, q.y).link === l) {
        return q;
      }
    }
    return undefined;
  }, id);
  assert.ok(p, `link ${id} is on the map and can be clicked`);
  const box = (await page.locator('.map-canvas').boundingBox())!;
  for (const m of modifiers) {
    await page.keyboard.down(m);
  }
  await page.mouse.click(box.x + p.x, box.y + p.y);
  for (const m of modifiers) {
    await page.keyboard.up(m);
  }
  await settle(page);
}

async function clickNode(page: Page, id: string, modifiers: ('Control' | 'Shift')[] = []): Promise<void> {
  const p = await page.evaluate((n) => (globalThis as unknown as PageGlobals).flowlens.screenPosition(n), id);
  assert.ok(p, `node ${id} is on the map`);
  const box = (await page.locator('.map-canvas').boundingBox())!;
  for (const m of modifiers) {
    await page.keyboard.down(m);
  }
  await page.mouse.click(box.x + p.x, box.y + p.y);
  for (const m of modifiers) {
    await page.keyboard.up(m);
  }
  await settle(page);
}

async function lastPosted<T extends WebviewMessage['type']>(page: Page, type: T): Promise<Extract<WebviewMessage, { type: T }>> {
  const all = (await posted(page)).filter((m) => m.type === type);
  assert.ok(all.length > 0, `the webview posted a ${type} message`);
  const m = all[all.length - 1];
  const parsed = parseWebviewMessage(m);
  assert.ok(parsed.ok, `the ${type} message validates: ${parsed.ok ? '' : parsed.error}`);
  return m as Extract<WebviewMessage, { type: T }>;
}

/** What the map must show for a snapshot, computed independently of map-graph.ts. */
function expectedWorkloadGraph(s: ViewSnapshot): { nodes: string[]; links: string[] } {
  const kindOf = new Map(s.endpoints.map((e) => [e.id, e.kind]));
  const node = (id: string) => (kindOf.get(id) === 'external' ? 'internet' : id);
  const nodes = new Set<string>();
  const links = new Set<string>();
  for (const e of s.workloadEdges) {
    nodes.add(node(e.client));
    nodes.add(node(e.server));
    links.add(`${node(e.client)}>${node(e.server)}`);
  }
  return { nodes: [...nodes].sort(), links: [...links].sort() };
}

async function rowTexts(page: Page): Promise<string[][]> {
  return page.locator('.table-rows .tr').evaluateAll((rows) =>
    (rows as unknown as { getBoundingClientRect(): { y: number }; children: ArrayLike<{ textContent: string | null }> }[])
      .sort((a, b) => a.getBoundingClientRect().y - b.getBoundingClientRect().y)
      .map((r) => Array.from(r.children).map((c) => c.textContent ?? '')),
  );
}

async function headerTitles(page: Page): Promise<string[]> {
  return page.locator('.table-header .th-title').allTextContents();
}

suite('webview in Chromium', function () {
  this.timeout(60_000);
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  const shop = shopSnapshot();

  suiteSetup(async () => {
    harness = await startHarness();
    browser = await launchBrowser();
  });

  suiteTeardown(async () => {
    await browser?.close();
    await harness?.close();
  });

  setup(async () => {
    page = await openWebview(browser.context, harness.url('dark'));
    await postToWebview(page, { type: 'snapshot', snapshot: shop });
    await settle(page);
  });

  teardown(async () => {
    const errors = pageErrors(page);
    const csp = await violations(page);
    const errorMessages = (await posted(page)).filter((m) => m.type === 'error');
    await page.close();
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
    assert.deepEqual(csp, [], 'no CSP violations (no eval, no inline code, no foreign resources)');
    assert.deepEqual(errorMessages, [], 'the webview reported no errors to the host');
  });

  test('the ready message carries the protocol version and the time window', async () => {
    const ready = await lastPosted(page, 'ready');
    assert.deepEqual(ready, { type: 'ready', protocol: 1, window: '15m' });
  });

  test('map nodes and links match the data (workload view): workloads, S3, DynamoDB, internet, namespace groups', async () => {
    const g = await graph(page);
    const want = expectedWorkloadGraph(shop);
    assert.equal(g.level, 'workload');
    assert.deepEqual([...g.nodes].sort(), want.nodes);
    assert.deepEqual([...g.links].sort(), want.links);
    for (const id of [UI, ORDERS, 'wl:StatefulSet/orders/orders-db', 'wl:Deployment/kube-system/coredns', 'cloud:S3', 'cloud:DYNAMODB', 'internet']) {
      assert.ok(g.nodes.includes(id), `${id} is a node`);
    }
    assert.equal(g.nodes.length, 13);
    assert.deepEqual(g.groups, ['ns:carts', 'ns:catalog', 'ns:checkout', 'ns:gallery', 'ns:kube-system', 'ns:orders', 'ns:ui', 'group:outside']);
    const canvas = page.locator('.map-canvas');
    assert.equal(await canvas.getAttribute('data-nodes'), '13');
    assert.equal(await canvas.getAttribute('data-links'), String(want.links.length));
  });

  test('the pod view shows each pod; switching back restores the workload view', async () => {
    await choose(page, 'vscode-single-select.level', 'pod');
    const g = await graph(page);
    assert.equal(g.level, 'pod');
    const pods = g.nodes.filter((n) => n.startsWith('pod:'));
    assert.equal(pods.length, 15);
    assert.ok(pods.includes('pod:orders/orders-8d2e-a1') && pods.includes('pod:orders/orders-8d2e-c2'));
    assert.ok(g.links.includes('pod:ui/ui-6d9f-a1>pod:orders/orders-8d2e-a1'));
    await choose(page, 'vscode-single-select.level', 'workload');
    assert.equal((await graph(page)).level, 'workload');
  });

  test('scope to a namespace shows it and its peers; filters: port, category, only unhealthy, workload', async () => {
    await choose(page, 'vscode-multi-select.namespaces', ['orders']);
    let g = await graph(page);
    assert.deepEqual([...g.nodes].sort(), [CHECKOUT, ORDERS, 'wl:Deployment/kube-system/coredns', UI, 'wl:StatefulSet/orders/orders-db'].sort());
    await choose(page, 'vscode-multi-select.namespaces', []);

    await page.locator('vscode-textfield.port-filter input').fill('5432', { force: true }).catch(async () => {
      await page.locator('vscode-textfield.port-filter').evaluate((e) => {
        (e as unknown as { value: string }).value = '5432';
        (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
      });
    });
    await settle(page);
    g = await graph(page);
    assert.deepEqual(g.links, [`${ORDERS}>wl:StatefulSet/orders/orders-db`]);
    await page.locator('vscode-textfield.port-filter').evaluate((e) => {
      (e as unknown as { value: string }).value = '';
      (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
    });

    await choose(page, 'vscode-multi-select.categories', ['cloud-service']);
    g = await graph(page);
    assert.deepEqual([...g.links].sort(), [`${GALLERY}>cloud:DYNAMODB`, `${GALLERY}>cloud:S3`]);
    await choose(page, 'vscode-multi-select.categories', []);

    await page.locator('vscode-checkbox.only-unhealthy').click();
    await settle(page);
    g = await graph(page);
    // ui->orders (RTO), checkout->orders (retransmits and failed connections on 9999), orders->orders-db and
    // gallery->internet (retransmits), carts->carts-redis (a reset).
    assert.deepEqual([...g.links].sort(), [`${CHECKOUT}>${ORDERS}`, `${GALLERY}>internet`, `${ORDERS}>wl:StatefulSet/orders/orders-db`, `${UI}>${ORDERS}`, 'wl:Deployment/carts/carts>wl:StatefulSet/carts/carts-redis'].sort());
    await page.locator('vscode-checkbox.only-unhealthy').click();
    await settle(page);

    await page.locator('vscode-textfield.workload-filter').evaluate((e) => {
      (e as unknown as { value: string }).value = 'catalog';
      (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
    });
    await settle(page);
    g = await graph(page);
    assert.deepEqual([...g.links].sort(), [`${CATALOG}>wl:Deployment/kube-system/coredns`, `${CATALOG}>wl:StatefulSet/catalog/catalog-db`, `${UI}>${CATALOG}`].sort());
  });

  test('selecting an edge shows both directions with bytes, packets, connections, retransmits, RTO, RTT, resets and ports', async () => {
    await clickLink(page, `${UI}>${ORDERS}`);
    const details = page.locator('aside.details');
    assert.equal(await details.getAttribute('data-selection'), '0n1l');
    assert.equal(await details.locator('.link-title .client').textContent(), 'ui/ui');
    assert.equal(await details.locator('.link-title .server').textContent(), 'orders/orders');
    const section = details.locator('.edge-figures');
    assert.equal(await section.count(), 1);
    assert.equal(await section.locator('h3 span').first().textContent(), 'TCP 8080');
    const figure = async (name: string) => (await section.locator(`tr[data-figure="${name}"] td`).allTextContents()).join(' | ');
    // Two ui pods each sent 30 kB / 300 packets to an orders pod and got 90 kB / 280 packets back.
    assert.equal(await figure('Bytes'), '60.0 kB | 180 kB');
    assert.equal(await figure('Packets'), '600 | 560');
    assert.equal(await figure('Connections'), '24');
    assert.equal(await figure('Retransmits'), '34 (2.9 %)');
    assert.equal(await figure('RTO'), '4');
    assert.equal(await figure('RTT'), '2.4 ms');
    assert.equal(await figure('Resets'), '0');
    assert.equal(await figure('Failed connections'), '0');
    // One ui pod calls an orders pod on its own node, the other one in another zone.
    assert.deepEqual(await details.locator('.badges').first().locator('.badge').allTextContents(), ['failing', 'cross-zone', 'intra-node']);

    // checkout -> orders: two ports, the failing 9999 and 8080, each with its figures, plus the sum.
    await clickLink(page, `${CHECKOUT}>${ORDERS}`);
    assert.deepEqual(await details.locator('.edge-figures h3 span:first-child').allTextContents(), ['TCP 8080', 'TCP 9999']);
    assert.equal((await details.locator('.edge-figures').nth(1).locator('tr[data-figure="Failed connections"] td').allTextContents()).join(), '6');
  });

  test('multi-select of links and nodes posts Generate NetworkPolicy with the selected edges and nodes', async () => {
    await clickLink(page, `${UI}>${ORDERS}`);
    await clickLink(page, `${CHECKOUT}>${ORDERS}`, ['Control']);
    await clickNode(page, GALLERY, ['Shift']);
    assert.equal(await page.locator('aside.details').getAttribute('data-selection'), '1n2l');
    await page.locator('header vscode-button.generate').click();
    const m = await lastPosted(page, 'generatePolicy');
    assert.equal(m.level, 'workload');
    assert.equal(m.window, '15m');
    assert.deepEqual(
      m.edges.map((e) => `${e.client.id} -> ${e.server.id} ${e.protocol}/${e.port}`).sort(),
      [`${CHECKOUT} -> ${ORDERS} TCP/8080`, `${CHECKOUT} -> ${ORDERS} TCP/9999`, `${UI} -> ${ORDERS} TCP/8080`].sort(),
    );
    const ui = m.edges.find((e) => e.client.id === UI)!;
    assert.deepEqual(ui.client.workload, { kind: 'Deployment', namespace: 'ui', name: 'ui' });
    assert.deepEqual(ui.server.ips, ['198.18.1.40', '198.18.3.40']);
    assert.deepEqual(
      m.nodes.map((n) => n.id),
      [GALLERY],
    );
    assert.equal(m.nodes[0].namespace, 'gallery');
  });

  test('selecting a node shows its talkers; Pod events posts the pods; a talker selects its link', async () => {
    await clickNode(page, ORDERS);
    const details = page.locator('aside.details');
    assert.equal(await details.locator('.node-title').textContent(), 'orders/orders');
    const talkers = await details.locator('.talker .peer').allTextContents();
    assert.deepEqual([...talkers].sort(), ['checkout/checkout', 'kube-system/coredns', 'orders/orders-db', 'ui/ui']);
    await details.locator('vscode-button.pod-events').click();
    const m = await lastPosted(page, 'openPodEvents');
    assert.deepEqual(m, { type: 'openPodEvents', namespace: 'orders', pods: ['orders-8d2e-a1', 'orders-8d2e-c2'], workload: { kind: 'Deployment', namespace: 'orders', name: 'orders' } });
    await details.locator(`.talker[data-link="${UI}>${ORDERS}"]`).click();
    assert.equal(await details.getAttribute('data-selection'), '0n1l');
  });

  test('Show Flows pins the edge\'s rows in the table and posts showFlows', async () => {
    await clickLink(page, `${GALLERY}>cloud:S3`);
    await page.locator('aside.details vscode-button.show-flows').click();
    await settle(page);
    const m = await lastPosted(page, 'showFlows');
    assert.equal(m.level, 'workload');
    assert.deepEqual(m.edges.map((e) => e.key), [`${GALLERY}|cloud:S3|TCP|443`]);
    const table = page.locator('section.flow-table');
    assert.equal(await table.getAttribute('data-visible-rows'), '1');
    assert.equal(await page.locator('vscode-tab-header[data-view="cloud"]').getAttribute('aria-selected'), 'true');
    const rows = await rowTexts(page);
    assert.equal(rows[0][0], 'gallery-9e3c-a1');
    assert.equal(rows[0][2], 'S3');
    await page.locator('.pin-close').click();
    await settle(page);
    assert.equal(await table.getAttribute('data-visible-rows'), '2');
  });

  test('table: the three views, cross-zone filter, query syntax, sorting', async () => {
    const table = page.locator('section.flow-table');
    const pod = shop.podEdges;
    const clusterRows = pod.filter((e) => e.category !== 'cloud-service' && e.category !== 'external');
    assert.equal(await table.getAttribute('data-visible-rows'), String(clusterRows.length));
    await page.locator('vscode-tab-header[data-view="external"]').click();
    await settle(page);
    assert.equal(await table.getAttribute('data-visible-rows'), '1');
    assert.equal((await rowTexts(page))[0][4], '198.51.100.10');
    await page.locator('vscode-tab-header[data-view="cluster"]').click();
    await page.locator('vscode-checkbox.cross-zone').click();
    await settle(page);
    assert.equal(await table.getAttribute('data-visible-rows'), String(clusterRows.filter((e) => e.category === 'inter-zone').length));
    await page.locator('vscode-checkbox.cross-zone').click();

    const query = async (q: string) => {
      await page.locator('vscode-textfield.query').evaluate((e, v) => {
        (e as unknown as { value: string }).value = v;
        (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
      }, q);
      await page.waitForTimeout(200);
      await settle(page);
      return Number(await table.getAttribute('data-visible-rows'));
    };
    assert.equal(await query('ns:orders retransmits>0'), 5, 'ui->orders x2, orders->orders-db x2, checkout->orders x1 (8080); 9999 has none');
    assert.equal(await query('remote.ns:orders port:9999'), 1);
    assert.equal(await query('-ns:kube-system bytes>100kB'), 10, 'ui->catalog, ui->carts, ui->orders, catalog->catalog-db, orders->orders-db, two pods each');
    assert.equal(await query('is:failing'), 6, 'RTOs (ui->orders x2), failed connections (9999), >=2 % retransmitted (checkout->orders, orders->orders-db x2)');
    assert.equal(await query('rtt>=2ms'), 2);
    assert.equal(await query('"catalog-db-0"'), 2);
    assert.equal(await query('bogus:1'), clusterRows.length, 'an invalid query filters nothing');
    assert.match((await page.locator('.query-error').textContent()) ?? '', /unknown field "bogus"/);
    assert.equal(await query(''), clusterRows.length);

    await page.locator('.table-header .th[data-column="port"]').click();
    await settle(page);
    assert.equal(await page.locator('.table-header .th[data-column="port"]').getAttribute('aria-sort'), 'descending');
    let ports = (await rowTexts(page)).map((r) => Number(r[5]));
    assert.deepEqual(ports, [...ports].sort((a, b) => b - a));
    await page.locator('.table-header .th[data-column="port"]').click();
    await settle(page);
    ports = (await rowTexts(page)).map((r) => Number(r[5]));
    assert.deepEqual(ports, [...ports].sort((a, b) => a - b));
    assert.equal(ports[0], 53);
  });

  test('table: user-chosen columns, and CSV export of exactly the visible rows and columns', async () => {
    await page.locator('vscode-button.columns-button').click();
    await page.locator('.column-menu vscode-checkbox[data-column="localZone"]').click();
    await page.locator('.column-menu vscode-checkbox[data-column="remoteZone"]').click();
    await page.locator('.column-menu vscode-checkbox[data-column="remoteIp"]').click();
    await settle(page);
    const titles = await headerTitles(page);
    assert.ok(titles.includes('Local zone') && titles.includes('Remote zone') && !titles.includes('Remote IP'), titles.join());
    await page.locator('vscode-textfield.query').evaluate((e) => {
      (e as unknown as { value: string }).value = 'ns:orders';
      (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
    });
    await page.waitForTimeout(200);
    await page.locator('vscode-button.export-csv').click();
    const m = await lastPosted(page, 'saveCsv');
    const visible = Number(await page.locator('section.flow-table').getAttribute('data-visible-rows'));
    assert.equal(m.rows, visible);
    assert.match(m.fileName, /^flowlens-cluster-flows-2026-11-21T10-10-00-000Z\.csv$/);
    const lines = m.csv.trimEnd().split('\r\n');
    assert.equal(lines.length, visible + 1);
    assert.equal(
      lines[0],
      'Local pod,Local namespace,Local zone,Remote pod,Remote namespace,Remote zone,Port,Protocol,Bytes out (bytes),Bytes in (bytes),Connections,Retransmits,RTO,RTT (µs),Failed',
    );
    // Sorted as shown (bytes out, descending): the orders -> orders-db rows first, raw numbers.
    assert.equal(lines[1], 'orders-8d2e-a1,orders,zone-a,orders-db-0,orders,zone-c,5432,TCP,64000,120000,6,3,0,900,0');
  });

  test('virtual scrolling: 20,000 rows, only the viewport in the DOM, scrolling renders the right rows', async () => {
    const big = syntheticSnapshot({ namespaces: 20, workloads: 200, podsPerWorkload: 5, workloadEdges: 1000, podEdges: 20_000 });
    await postToWebview(page, { type: 'snapshot', snapshot: big });
    await settle(page);
    const table = page.locator('section.flow-table');
    const visible = Number(await table.getAttribute('data-visible-rows'));
    assert.ok(visible > 19_000, `${visible} rows in the cluster view`);
    const rendered = await page.locator('.table-rows .tr').count();
    assert.ok(rendered > 5 && rendered < 80, `${rendered} rows in the DOM`);
    const keys = await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.visibleRows());
    await page.locator('.table-viewport').evaluate((v) => {
      (v as unknown as { scrollTop: number }).scrollTop = 1e9;
    });
    await settle(page);
    await settle(page);
    const lastKey = await page.locator('.table-rows .tr').last().getAttribute('data-key');
    assert.equal(lastKey, keys[keys.length - 1]);
    assert.ok((await page.locator('.table-rows .tr').count()) < 80);
  });

  test('clicking a table row highlights its map link; selecting a link highlights its rows', async () => {
    const first = page.locator('.table-rows .tr').first();
    const key = await first.getAttribute('data-key');
    assert.equal(key, 'pod:orders/orders-8d2e-a1|pod:orders/orders-db-0|TCP|5432');
    await first.click();
    await settle(page);
    assert.equal(await page.locator('aside.details').getAttribute('data-selection'), '0n1l');
    assert.equal(await page.locator('.link-title .server').textContent(), 'orders/orders-db');
    assert.deepEqual((await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.state())).selectedLinks, [`${ORDERS}>wl:StatefulSet/orders/orders-db`]);

    await clickLink(page, `${UI}>${CATALOG}`);
    const highlighted = await page.locator('.table-rows .tr.highlighted').evaluateAll((rows) => rows.map((r) => (r as unknown as { getAttribute(n: string): string }).getAttribute('data-key')).sort());
    assert.deepEqual(highlighted, ['pod:ui/ui-6d9f-a1|pod:catalog/catalog-5c7b-a1|TCP|8080', 'pod:ui/ui-6d9f-b2|pod:catalog/catalog-5c7b-c2|TCP|8080']);
  });

  test('keyboard: arrows move the focus between nodes, Enter selects, Escape clears', async () => {
    await page.locator('.map-canvas').focus();
    await page.keyboard.press('ArrowRight');
    await settle(page);
    const announced = await page.locator('.map [aria-live]').textContent();
    assert.match(announced ?? '', /\S/, 'the focused node is announced');
    await page.keyboard.press('Enter');
    await settle(page);
    assert.equal(await page.locator('aside.details').getAttribute('data-selection'), '1n0l');
    await page.keyboard.press(']');
    await page.keyboard.press('Enter');
    await settle(page);
    assert.equal(await page.locator('aside.details').getAttribute('data-selection'), '0n1l');
    await page.keyboard.press('Escape');
    await settle(page);
    assert.equal(await page.locator('aside.details').getAttribute('data-selection'), 'none');
  });

  test('the time window picker asks the host for another window', async () => {
    await choose(page, 'vscode-single-select.window', '1h');
    assert.deepEqual(await lastPosted(page, 'setWindow'), { type: 'setWindow', window: '1h' });
  });

  test('live updates (deltas) add nodes without moving the others', async () => {
    const before = await graph(page);
    const positions = await page.evaluate((ids) => ids.map((id) => (globalThis as unknown as PageGlobals).flowlens.position(id)), before.nodes);
    // A new workload in a new namespace starts calling orders.
    const newcomer: EndpointView = { id: 'wl:Deployment/reports/reports', kind: 'pod', label: 'reports/reports', namespace: 'reports', workload: { kind: 'Deployment', namespace: 'reports', name: 'reports' }, pods: ['reports-1'], ips: ['198.18.2.90'], nodes: ['node-b'], zones: ['zone-b'] };
    const edge: EdgeView = { ...shop.workloadEdges.find((e) => e.server === ORDERS)!, key: `${newcomer.id}|${ORDERS}|TCP|8080`, client: newcomer.id };
    const next: ViewSnapshot = { ...shop, seq: 2, endpoints: [...shop.endpoints, newcomer], workloadEdges: [...shop.workloadEdges, edge], namespaces: [...shop.namespaces, 'reports'].sort() };
    await postToWebview(page, { type: 'delta', delta: diffSnapshots(shop, next) });
    await settle(page);
    const after = await graph(page);
    assert.ok(after.nodes.includes(newcomer.id));
    const moved = await page.evaluate((ids) => ids.map((id) => (globalThis as unknown as PageGlobals).flowlens.position(id)), before.nodes);
    assert.deepEqual(moved, positions, 'no existing node moved');
    assert.ok(await page.evaluate((id) => (globalThis as unknown as PageGlobals).flowlens.position(id), newcomer.id));
    // A delta that does not apply to what the webview holds makes it ask for a full snapshot.
    await postToWebview(page, { type: 'delta', delta: { ...diffSnapshots(shop, next), baseSeq: 99, seq: 100 } });
    assert.ok((await posted(page)).some((m) => m.type === 'resync'));
  });

  test('malformed host messages are rejected and reported, never rendered', async () => {
    const before = await graph(page);
    await postToWebview(page, { type: 'snapshot', snapshot: { seq: 'x' } });
    await postToWebview(page, { type: 'nonsense' });
    const errors = (await posted(page)).filter((m) => m.type === 'error');
    assert.equal(errors.length, 2);
    assert.match(errors[0].type === 'error' ? errors[0].message : '', /invalid host message \(type snapshot\)/);
    assert.deepEqual(await graph(page), before);
    // Clean up so that teardown's "no errors" check is about unexpected ones.
    await page.evaluate(() => {
      const posted = (globalThis as unknown as PageGlobals).__posted;
      posted.splice(0, posted.length);
    });
  });

  test('state (view, scope, window, filters, query, selection, layout) survives hiding and re-showing', async () => {
    await choose(page, 'vscode-single-select.level', 'pod');
    await choose(page, 'vscode-multi-select.namespaces', ['orders', 'ui']);
    await choose(page, 'vscode-single-select.window', '30m');
    await page.locator('vscode-checkbox.only-unhealthy').click();
    await page.locator('vscode-tab-header[data-view="cluster"]').click();
    await page.locator('vscode-textfield.query').evaluate((e) => {
      (e as unknown as { value: string }).value = 'port:8080';
      (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
    });
    await page.waitForTimeout(200);
    const link = 'pod:ui/ui-6d9f-a1>pod:orders/orders-8d2e-a1';
    await clickLink(page, link);
    const g = await graph(page);
    const positions = await page.evaluate((ids) => ids.map((id) => (globalThis as unknown as PageGlobals).flowlens.position(id)), g.nodes);
    await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.flushState());

    // Hide and show: VS Code destroys the webview's document and restores its state.
    await page.reload();
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__posted.some((m) => m.type === 'ready'));
    assert.deepEqual(await lastPosted(page, 'ready'), { type: 'ready', protocol: 1, window: '30m' });
    await postToWebview(page, { type: 'snapshot', snapshot: { ...shop, window: '30m' } });
    await settle(page);
    const restored = await graph(page);
    assert.equal(restored.level, 'pod');
    assert.deepEqual(restored, g);
    assert.deepEqual(await page.evaluate((ids) => ids.map((id) => (globalThis as unknown as PageGlobals).flowlens.position(id)), g.nodes), positions);
    assert.equal(await page.locator('aside.details').getAttribute('data-selection'), '0n1l');
    assert.equal(await page.locator('.link-title .client').textContent(), 'ui/ui-6d9f-a1');
    // The table follows the scope (orders, ui) and its own query (port 8080): ui->catalog, ui->carts,
    // ui->orders and ui->checkout from two ui pods, and checkout->orders.
    assert.equal(await page.locator('section.flow-table').getAttribute('data-visible-rows'), '9');
    const state = await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.state());
    assert.deepEqual([state.level, state.namespaces, state.window, state.onlyUnhealthy, state.query, state.selectedLinks], ['pod', ['orders', 'ui'], '30m', true, 'port:8080', [link]]);
    assert.equal(await page.locator('vscode-textfield.query').evaluate((e) => (e as unknown as { value: string }).value), 'port:8080');
  });

  test('XSS: hostile cluster strings are rendered as text everywhere and nothing executes', async () => {
    const evil = (tag: string) => `<img src=x onerror="window.__xss.push('${tag}')"><script>window.__xss.push('${tag}-s')</script>`;
    const ns = evil('ns');
    const a: EndpointView = { id: `wl:Deployment/${ns}/${evil('a')}`, kind: 'pod', label: `${ns}/${evil('a')}`, namespace: ns, workload: { kind: 'Deployment', namespace: ns, name: evil('wa') }, pods: [evil('pod-a')], ips: [evil('ip')], nodes: [evil('node')], zones: [evil('zone')] };
    const b: EndpointView = { id: `pod:${ns}/${evil('b')}`, kind: 'pod', label: `${ns}/${evil('b')}`, namespace: ns, workload: { kind: 'Deployment', namespace: ns, name: evil('wb') }, pod: evil('pod-b'), pods: [evil('pod-b')], ips: ['198.18.9.9'], nodes: ['node-a'], zones: [evil('zone')] };
    const c: EndpointView = { id: `cloud:${evil('cloud')}`, kind: 'cloud-service', label: evil('cloud'), pods: [], ips: ['203.0.113.9'], nodes: [], zones: [], cloudService: evil('cloud') };
    const totals = { bytesToServer: 10, bytesToClient: 20, packetsToServer: 1, packetsToClient: 1, connections: 1, retransmits: 1, rto: 1, resets: 0, failedConnections: 0, rttUs: 100 };
    const e1: EdgeView = { key: `${a.id}|${b.id}|TCP|80`, client: a.id, server: b.id, protocol: 'TCP', port: 80, category: 'inter-zone', totals, firstSeenMs: NOW_MS - 1000, lastSeenMs: NOW_MS };
    const e2: EdgeView = { key: `${b.id}|${c.id}|TCP|443`, client: b.id, server: c.id, protocol: 'TCP', port: 443, category: 'cloud-service', totals, firstSeenMs: NOW_MS - 1000, lastSeenMs: NOW_MS };
    const hostile: ViewSnapshot = { ...shop, seq: 5, namespaces: [ns, ...shop.namespaces], endpoints: [a, b, c], workloadEdges: [e1, e2], podEdges: [e1, e2] };
    await postToWebview(page, { type: 'snapshot', snapshot: hostile });
    await settle(page);
    await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.fit());
    await page.waitForTimeout(300);
    await clickNode(page, a.id);
    const details = page.locator('aside.details');
    assert.equal(await details.locator('.node-title').textContent(), a.label, 'the label is shown literally');
    assert.match((await details.textContent()) ?? '', /<img src=x onerror=/);
    await clickLink(page, `${a.id}>${b.id}`);
    await page.mouse.move(0, 0);
    const p = await page.evaluate((id) => (globalThis as unknown as PageGlobals).flowlens.screenPosition(id), c.id);
    const box = (await page.locator('.map-canvas').boundingBox())!;
    await page.mouse.move(box.x + p!.x, box.y + p!.y);
    await settle(page);
    assert.match((await page.locator('.map-tooltip').textContent()) ?? '', /<img src=x/);
    await page.locator('vscode-multi-select.namespaces').click();
    await settle(page);
    await page.keyboard.press('Escape');
    await page.locator('vscode-button.columns-button').click();
    for (const col of ['localWorkload', 'localIp', 'localZone', 'localNode', 'remoteWorkload']) {
      await page.locator(`.column-menu vscode-checkbox[data-column="${col}"]`).click();
    }
    await settle(page);
    assert.match((await page.locator('.table-rows').textContent()) ?? '', /<img src=x onerror=/);
    await page.locator('vscode-tab-header[data-view="cloud"]').click();
    await page.locator('vscode-button.export-csv').click();
    await page.waitForTimeout(300);
    const injected = await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      const count = (root: { querySelectorAll(s: string): ArrayLike<PageElementLike> }): number => {
        let n = root.querySelectorAll('img, script:not([src])').length;
        for (const e of Array.from(root.querySelectorAll('*'))) {
          if (e.shadowRoot) {
            n += count(e.shadowRoot);
          }
        }
        return n;
      };
      type PageElementLike = { shadowRoot: { querySelectorAll(s: string): ArrayLike<PageElementLike> } | null };
      return { xss: w.__xss, elements: count(w.document as unknown as { querySelectorAll(s: string): ArrayLike<PageElementLike> }) };
    });
    assert.deepEqual(injected, { xss: [], elements: 0 }, 'no injected element exists and no payload ran');
    const csv = await lastPosted(page, 'saveCsv');
    assert.ok(csv.csv.includes('"<img src=x onerror=""window.__xss.push'), 'CSV quotes the hostile text');
  });
});

suite('map graph reference', () => {
  test('the expected-graph helper agrees with buildMapGraph on the fixture', () => {
    const s = shopSnapshot();
    const g = buildMapGraph(s, 'workload', NO_FILTERS, endpointIndex(s));
    const want = expectedWorkloadGraph(s);
    assert.deepEqual(g.nodes.map((n) => n.id).sort(), want.nodes);
    assert.deepEqual(g.links.map((l) => l.id).sort(), want.links);
  });
});
