/**
 * How every browser test starts Debian's headless Chromium (notes/vscode-in-ci.md): no network features,
 * no GPU, no sandbox (root), never a browser download.
 */
export const CHROMIUM = process.env.FLOWLENS_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-pings',
];
