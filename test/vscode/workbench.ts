/** Helpers for tests in the extension host: waiting on state, and screenshots of the live workbench. */
import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';

/** Polls until `probe` returns a value (not undefined), or fails naming what was awaited. */
export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Asks the code-server runner for a screenshot of the workbench as it is now (out/test-artifacts/vscode/
 * <name>.png) and waits until it is taken. Outside that runner (desktop VS Code) it does nothing.
 */
export async function screenshot(name: string): Promise<void> {
  const result = process.env.FLOWLENS_VSCODE_RESULT;
  if (!result) {
    return;
  }
  const request = `${result}.shot-${name}`;
  writeFileSync(request, '');
  await eventually(`screenshot ${name}`, () => (existsSync(request) ? undefined : true), 15_000);
}
