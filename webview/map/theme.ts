/**
 * The map's colours, read from VS Code's theme CSS variables (the canvas needs resolved colour strings).
 * Re-read when the theme changes: VS Code swaps the body class (vscode-light, vscode-dark,
 * vscode-high-contrast, vscode-high-contrast-light) and the variables with it.
 */
import type { Health } from '../../src/core/view/health';
import type { MapNodeKind } from '../../src/core/view/map-graph';

export interface MapTheme {
  readonly background: string;
  readonly foreground: string;
  readonly muted: string;
  readonly groupFill: string;
  readonly groupBorder: string;
  readonly nodeFill: Readonly<Record<MapNodeKind, string>>;
  readonly nodeBorder: string;
  readonly health: Readonly<Record<Health, string>>;
  readonly selection: string;
  readonly highlight: string;
  readonly zones: readonly string[];
  readonly highContrast: boolean;
  readonly font: string;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function readTheme(): MapTheme {
  const style = getComputedStyle(document.body);
  const dark = !document.body.classList.contains('vscode-light') && !document.body.classList.contains('vscode-high-contrast-light');
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const fg = cssVar(style, '--vscode-editor-foreground', dark ? '#cccccc' : '#333333');
  const blue = cssVar(style, '--vscode-charts-blue', '#3794ff');
  return {
    background: cssVar(style, '--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    foreground: fg,
    muted: cssVar(style, '--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    groupFill: cssVar(style, '--vscode-editorWidget-background', dark ? '#252526' : '#f3f3f3'),
    groupBorder: cssVar(style, '--vscode-contrastBorder', '') || cssVar(style, '--vscode-widget-border', '') || cssVar(style, '--vscode-panel-border', dark ? '#454545' : '#d4d4d4'),
    nodeFill: {
      workload: blue,
      pod: blue,
      service: cssVar(style, '--vscode-charts-purple', '#b180d7'),
      node: cssVar(style, '--vscode-descriptionForeground', '#8b8b8b'),
      'cloud-service': cssVar(style, '--vscode-charts-orange', '#d18616'),
      internet: cssVar(style, '--vscode-charts-orange', '#d18616'),
    },
    nodeBorder: cssVar(style, '--vscode-contrastBorder', '') || cssVar(style, '--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    health: {
      healthy: cssVar(style, '--vscode-charts-green', '#89d185'),
      degraded: cssVar(style, '--vscode-charts-yellow', '#cca700'),
      failing: cssVar(style, '--vscode-charts-red', '#f14c4c'),
    },
    selection: cssVar(style, '--vscode-focusBorder', '#007fd4'),
    highlight: cssVar(style, '--vscode-editor-findMatchBorder', '') || cssVar(style, '--vscode-charts-yellow', '#cca700'),
    zones: [
      cssVar(style, '--vscode-terminal-ansiCyan', '#11a8cd'),
      cssVar(style, '--vscode-terminal-ansiMagenta', '#bc3fbc'),
      cssVar(style, '--vscode-terminal-ansiYellow', '#e5e510'),
      cssVar(style, '--vscode-terminal-ansiGreen', '#0dbc79'),
      cssVar(style, '--vscode-terminal-ansiBlue', '#2472c8'),
      cssVar(style, '--vscode-terminal-ansiRed', '#cd3131'),
    ],
    highContrast,
    font: cssVar(style, '--vscode-font-family', 'sans-serif'),
  };
}
