/**
 * Imported first by main.ts: zod decides at schema construction whether to compile parsers with
 * `new Function`, probing for it once — and under the webview's CSP that probe is reported as a violation.
 * `jitless` must therefore be set before any module defines a schema.
 */
import { z } from 'zod';

z.config({ jitless: true });
