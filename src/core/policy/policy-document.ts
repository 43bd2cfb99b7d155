/**
 * The NetworkPolicies of a YAML text open in an editor, with source offsets: every object's decoded policy
 * (or its errors, at the offending field), the range of any field, the field at an offset, and text edits
 * that add or remove sequence items while leaving the rest of the text (formatting, comments) as it is.
 *
 * The text is read as the manifest loader reads files (YAML 1.1 like kubectl, several documents, `kind:
 * List`); only objects of kind NetworkPolicy are decoded, and a text without any (a Deployment, say) has
 * `containsNetworkPolicy` false so that editors leave it alone. Offsets are UTF-16 indices into the text,
 * as editors count them.
 */
import { Document, isMap, isNode, isPair, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { formatPath, type FieldError, type FieldPath } from '../kube/field-error';
import { documentValue, expandLists, parseYamlStream } from '../kube/manifest';
import { decodeNetworkPolicy, type NetworkPolicy } from './network-policy';

export interface TextRange {
  readonly start: number;
  readonly end: number;
}

export interface TextEdit extends TextRange {
  readonly newText: string;
}

export interface FieldRange extends TextRange {
  /** False when the field is missing and the range is its nearest existing parent's. */
  readonly exact: boolean;
}

/** What of a field a range covers: its key, its value, or both. */
export type RangePart = 'key' | 'value' | 'pair';

export interface DocumentError extends TextRange {
  /** syntax: the YAML does not parse; invalid: the API server would reject the object. */
  readonly kind: 'syntax' | 'invalid';
  readonly message: string;
}

export interface PolicyDocument {
  readonly text: string;
  /** True when the text holds a (Kubernetes) NetworkPolicy, even one broken by a syntax error. */
  readonly containsNetworkPolicy: boolean;
  /** Every NetworkPolicy object, valid or not, in text order. */
  readonly policies: readonly PolicyObject[];
  readonly errors: readonly DocumentError[];
}

export interface ParseOptions {
  /** The namespace of policies without metadata.namespace (kubectl's context namespace); default "default". */
  readonly defaultNamespace?: string;
}

// A document that does not parse is still recognised as a NetworkPolicy by its text, so that its syntax errors show.
const NETWORK_POLICY_KIND = /(^|[\s{,-])["']?kind["']?\s*:\s*["']?NetworkPolicy\b/m;

/** Whether a text names the kind NetworkPolicy anywhere, without parsing it (for texts too large to parse as one types). */
export function mentionsNetworkPolicy(text: string): boolean {
  return NETWORK_POLICY_KIND.test(text);
}

export function parsePolicyDocument(text: string, options: ParseOptions = {}): PolicyDocument {
  const { docs } = parseYamlStream(text);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const policies: PolicyObject[] = [];
  const errors: DocumentError[] = [];
  let containsNetworkPolicy = false;
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      containsNetworkPolicy ||= NETWORK_POLICY_KIND.test(text.slice(doc.range[0], doc.range[2]));
      const seen = new Set<string>();
      for (const e of doc.errors) {
        // One mistake often yields several errors at one place (an unclosed bracket): keep the first of each.
        const start = Math.min(e.pos[0], text.length);
        const end = Math.min(Math.max(e.pos[1], start), text.length);
        const message = `invalid YAML: ${firstLine(e.message)}`;
        if (!seen.has(`${start}|${message}`)) {
          seen.add(`${start}|${message}`);
          errors.push({ kind: 'syntax', start, end, message });
        }
      }
      continue;
    }
    const contents = doc.contents;
    if (!isNode(contents)) {
      continue;
    }
    let value: unknown;
    try {
      value = documentValue(doc);
    } catch (e) {
      errors.push({ kind: 'syntax', ...firstLineRange(text, contents), message: `invalid YAML: ${firstLine((e as Error).message)}` });
      continue;
    }
    if (value === null || value === undefined) {
      continue;
    }
    const { items, errors: listErrors } = expandLists(value);
    // The document's top object gives the ranges of list errors, as an (undecoded) object would.
    const top = new PolicyObject(text, eol, contents, undefined, value);
    for (const e of listErrors) {
      errors.push({ kind: 'invalid', ...top.errorRange(e), message: e.message });
    }
    for (const item of items) {
      if (!isKubernetesNetworkPolicy(item.raw)) {
        continue;
      }
      containsNetworkPolicy = true;
      const steps = walk(contents, item.path);
      const node = steps[steps.length - 1].node;
      const decoded = decodeNetworkPolicy(item.raw, options.defaultNamespace);
      const object = new PolicyObject(text, eol, node, decoded.ok ? decoded.value : undefined, item.raw);
      policies.push(object);
      if (!decoded.ok) {
        for (const e of decoded.errors) {
          errors.push({ kind: 'invalid', ...object.errorRange(e), message: e.path.length > 0 ? `${formatPath(e.path)}: ${e.message}` : e.message });
        }
      }
    }
  }
  return { text, containsNetworkPolicy, policies, errors: errors.sort((x, y) => x.start - y.start) };
}

/**
 * kind NetworkPolicy of networking.k8s.io (in any version, or with a mistyped or missing apiVersion, so that
 * the decoder says what is wrong), but not the NetworkPolicy kinds of CRD groups (Calico's, for instance).
 */
function isKubernetesNetworkPolicy(raw: Record<string, unknown>): boolean {
  if (raw.kind !== 'NetworkPolicy') {
    return false;
  }
  const slash = typeof raw.apiVersion === 'string' ? raw.apiVersion.indexOf('/') : -1;
  const group = slash > 0 ? (raw.apiVersion as string).slice(0, slash) : '';
  return !group.includes('.') || group === 'networking.k8s.io';
}

interface Step {
  readonly node: Node;
  /** The pair whose value the node is (absent for sequence items and the root). */
  readonly pair?: Pair<Node, Node>;
  /** Whether the collection holding the node is a flow collection. */
  readonly inFlow: boolean;
}

/** The nodes along `path` from `root`, as far as they exist. */
function walk(root: Node, path: FieldPath): Step[] {
  const steps: Step[] = [{ node: root, inFlow: false }];
  let node = root;
  for (const part of path) {
    if (isMap(node) && typeof part === 'string') {
      const pair = findPair(node, part);
      if (!pair || !isNode(pair.value)) {
        break;
      }
      steps.push({ node: pair.value, pair: pair as Pair<Node, Node>, inFlow: node.flow === true });
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item: unknown = node.items[part];
      if (!isNode(item)) {
        break;
      }
      steps.push({ node: item, inFlow: node.flow === true });
      node = item;
    } else {
      break;
    }
  }
  return steps;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  // Keys are compared as toJS converts them (a label key 1 is the property "1").
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
}

function isNullScalar(node: unknown): node is Node & { range: [number, number, number] } {
  return isScalar(node) && node.value === null;
}

/** One NetworkPolicy object of the text. */
export class PolicyObject {
  /** The whole object. */
  readonly range: TextRange;
  private layout?: { step: number; indentSeq: boolean };

  constructor(
    private readonly text: string,
    private readonly eol: string,
    private readonly root: Node,
    /** The decoded policy; undefined when the object is invalid (its errors are the document's). */
    readonly policy: NetworkPolicy | undefined,
    /** The object as plain data, exactly as written (what an apply sends to the API server). */
    readonly raw: unknown,
  ) {
    this.range = { start: root.range![0], end: this.contentEnd(root) };
  }

  /**
   * The range of the field at `path` (relative to the object). A field that is missing gets its nearest
   * existing parent's key (or first line), with `exact` false. A value that is empty in the text
   * (`ingress:`) is given by its key.
   */
  rangeOf(path: FieldPath, part: RangePart = 'value'): FieldRange {
    const steps = walk(this.root, path);
    const last = steps[steps.length - 1];
    if (steps.length !== path.length + 1) {
      return { ...this.anchor(last), exact: false };
    }
    const value = { start: last.node.range![0], end: this.contentEnd(last.node) };
    if (!last.pair) {
      return { ...value, exact: true };
    }
    const key = { start: last.pair.key.range![0], end: last.pair.key.range![1] };
    if (part === 'key' || value.end <= value.start) {
      return { ...key, exact: true };
    }
    return part === 'pair' ? { start: key.start, end: value.end, exact: true } : { ...value, exact: true };
  }

  /** Where a decoding error shows: an unknown field's key, a scalar field's key and value, a collection's value. */
  errorRange(error: FieldError): TextRange {
    const steps = walk(this.root, error.path);
    const last = steps[steps.length - 1];
    if (steps.length !== error.path.length + 1) {
      return this.anchor(last);
    }
    if (error.message.startsWith('unknown field')) {
      return this.rangeOf(error.path, 'key');
    }
    return this.rangeOf(error.path, isScalar(last.node) ? 'pair' : 'value');
  }

  /** The path (relative to the object) of the innermost field at `offset`, keys and values alike; [] outside any field. */
  pathAt(offset: number): FieldPath {
    const path: (string | number)[] = [];
    let node = this.root;
    for (;;) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.range![0] <= offset && offset <= (isNode(p.value) ? this.contentEnd(p.value) : p.key.range![1]));
        if (!pair) {
          break;
        }
        path.push(String((pair.key as { value: unknown }).value));
        if (!isNode(pair.value)) {
          break;
        }
        node = pair.value;
      } else if (isSeq(node)) {
        const i = node.items.findIndex((item) => isNode(item) && this.itemStart(item, node as YAMLSeq) <= offset && offset <= this.contentEnd(item));
        if (i < 0) {
          break;
        }
        path.push(i);
        node = node.items[i] as Node;
      } else {
        break;
      }
    }
    return path;
  }

  /**
   * An edit appending `items` to the sequence at `path` (a path of mapping keys), creating the sequence and
   * its parent mappings when missing, in the style of the text around (block or flow, indentation). A
   * missing last key goes after its sibling `after` (first when that is absent too), or without `after`
   * last. Undefined when something on the way is neither a mapping nor empty (the object is invalid then).
   */
  appendItems(path: readonly string[], items: readonly unknown[], after?: string): TextEdit | undefined {
    let map: Node = this.root;
    let inFlow = false;
    for (let i = 0; i < path.length; i++) {
      if (!isMap(map)) {
        return undefined;
      }
      inFlow ||= map.flow === true;
      const pair = findPair(map, path[i]) as Pair<Node, Node> | undefined;
      const rest = path.slice(i + 1);
      if (!pair) {
        return this.insertPair(map, path[i], nest(rest, items), inFlow, i === path.length - 1 ? after : undefined);
      }
      const value: unknown = pair.value;
      if (isNullScalar(value)) {
        return this.replaceEmpty(pair, value.range[0], value.range[1], nest(rest, items), inFlow);
      }
      if (i === path.length - 1) {
        return isSeq(value) ? this.appendToSeq(pair, value, items, inFlow) : undefined;
      }
      map = value as Node;
    }
    return undefined;
  }

  /**
   * Edits removing the sequence item at `path` (a whole line range for a block item, with the comment lines
   * just above it, which describe it). A block sequence left empty becomes `[]`: an empty value would read
   * as null, which is the same to the API server but looks like an unfinished edit.
   */
  removeItem(path: FieldPath): TextEdit[] | undefined {
    const steps = walk(this.root, path);
    if (steps.length !== path.length + 1 || steps.length < 3) {
      return undefined;
    }
    const seq = steps[steps.length - 2].node;
    const index = path[path.length - 1];
    if (!isSeq(seq) || typeof index !== 'number') {
      return undefined;
    }
    const item = seq.items[index] as Node;
    if (seq.flow) {
      if (seq.items.length === 1) {
        return [{ start: item.range![0], end: this.contentEnd(item), newText: '' }];
      }
      // With its separating comma: the one before it, or for the first item the one after.
      return index > 0
        ? [{ start: this.contentEnd(seq.items[index - 1] as Node), end: this.contentEnd(item), newText: '' }]
        : [{ start: item.range![0], end: (seq.items[1] as Node).range![0], newText: '' }];
    }
    const dash = this.itemStart(item, seq);
    const column = dash - lineStart(this.text, dash);
    let start = lineStart(this.text, dash);
    while (start > 0) {
      const previous = lineStart(this.text, start - 1);
      const line = this.text.slice(previous, start);
      if (!(line.trimStart().startsWith('#') && line.length - line.trimStart().length === column)) {
        break;
      }
      start = previous;
    }
    const edits: TextEdit[] = [{ start, end: this.afterLine(this.contentEnd(item)), newText: '' }];
    const pair = steps[steps.length - 2].pair;
    if (seq.items.length === 1 && pair) {
      const colon = this.colonAfter(pair.key);
      edits.push({ start: colon + 1, end: colon + 1, newText: ' []' });
    }
    return edits;
  }

  /** A missing field's stand-in: its nearest existing parent's key, or (for items and the object) the first line. */
  private anchor(step: Step): TextRange {
    return step.pair ? { start: step.pair.key.range![0], end: step.pair.key.range![1] } : firstLineRange(this.text, step.node, this.contentEnd(step.node));
  }

  private insertPair(map: YAMLMap, key: string, value: unknown, inFlow: boolean, after: string | undefined): TextEdit {
    const anchor = after !== undefined ? findPair(map, after) : map.items[map.items.length - 1];
    const first = map.items[0]?.key as Node | undefined;
    if (inFlow) {
      // Flow text is a mapping's text without its braces.
      const text = () => flowText({ [key]: value }).slice(2, -2);
      if (!first) {
        const open = map.range![0] + 1;
        return lazyEdit(open, open, () => ` ${text()} `);
      }
      return anchor ? lazyEdit(this.pairEnd(anchor), this.pairEnd(anchor), () => `, ${text()}`) : lazyEdit(first.range![0], first.range![0], () => `${text()}, `);
    }
    // A block mapping has at least one pair (an empty one is `{}`, a flow mapping).
    const start = first!.range![0];
    const column = this.column(start);
    const block = () => this.blockText({ [key]: value }, column);
    if (!anchor) {
      // Before the first key, on its line (which may begin with the `-` of a list item).
      return lazyEdit(start, start, () => block().slice(column) + this.eol + ' '.repeat(column));
    }
    const at = this.lineEnd(this.pairEnd(anchor));
    return lazyEdit(at, at, () => this.eol + block());
  }

  /** Fills an empty value (`key:`, `key: null`, `key: []`) with `value`, below its key in a block mapping. */
  private replaceEmpty(pair: Pair<Node, Node>, from: number, to: number, value: unknown, inFlow: boolean): TextEdit {
    if (inFlow) {
      return lazyEdit(from, to, () => (from === to && this.text[from - 1] === ':' ? ' ' : '') + flowText(value));
    }
    const key = pair.key.range![0];
    const keyColumn = key - lineStart(this.text, key);
    const { step, indentSeq } = this.style();
    const column = keyColumn + (Array.isArray(value) && !indentSeq ? 0 : step);
    const block = () => this.eol + this.blockText(value, column);
    // The block goes below the key's line, whose trailing comment stays where it is.
    const colon = this.colonAfter(pair.key);
    const end = this.lineEnd(to);
    return from === to ? lazyEdit(end, end, block) : lazyEdit(colon + 1, end, () => this.text.slice(to, end) + block());
  }

  private appendToSeq(pair: Pair<Node, Node>, seq: YAMLSeq, items: readonly unknown[], inFlow: boolean): TextEdit {
    if (seq.flow) {
      if (seq.items.length === 0) {
        return this.replaceEmpty(pair, seq.range![0], seq.range![1], items, inFlow);
      }
      const end = this.contentEnd(seq.items[seq.items.length - 1] as Node);
      return lazyEdit(end, end, () => items.map((item) => `, ${flowText(item)}`).join(''));
    }
    const dash = this.itemStart(seq.items[0] as Node, seq);
    const column = dash - lineStart(this.text, dash);
    const at = this.lineEnd(this.contentEnd(seq.items[seq.items.length - 1] as Node));
    return lazyEdit(at, at, () => this.eol + this.blockText(items, column));
  }

  /** `value` as block YAML, every line indented by `column`, without a final line break. */
  private blockText(value: unknown, column: number): string {
    const { step, indentSeq } = this.style();
    const text = new Document(value, { version: '1.1' }).toString({ indent: step, indentSeq, lineWidth: 0 });
    const pad = ' '.repeat(column);
    return text
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => pad + line)
      .join(this.eol);
  }

  /** The text's indentation step and whether block sequences are indented under their key, read from the object (default: kubectl's). */
  private style(): { step: number; indentSeq: boolean } {
    if (!this.layout) {
      let step: number | undefined;
      let indentSeq: boolean | undefined;
      const visit = (node: Node): void => {
        if (isMap(node) && !node.flow) {
          for (const pair of node.items) {
            const value: unknown = pair.value;
            const keyColumn = this.column((pair.key as Node).range![0]);
            if (step === undefined && isMap(value) && !value.flow && value.items.length > 0) {
              step = this.column((value.items[0].key as Node).range![0]) - keyColumn;
            }
            if (indentSeq === undefined && isSeq(value) && !value.flow && value.items.length > 0) {
              indentSeq = this.column(this.itemStart(value.items[0] as Node, value)) > keyColumn;
            }
            if (isNode(value)) {
              visit(value);
            }
          }
        } else if (isSeq(node) && !node.flow) {
          node.items.forEach((item) => isNode(item) && visit(item));
        }
      };
      visit(this.root);
      this.layout = { step: step !== undefined && step > 0 ? step : 2, indentSeq: indentSeq ?? false };
    }
    return this.layout;
  }

  /** The end of a node's own text: without the line breaks and comments after it that the parser counts in. */
  private contentEnd(node: Node): number {
    if ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0) {
      const last: unknown = node.items[node.items.length - 1];
      if (isPair(last)) {
        return this.pairEnd(last);
      }
      if (isNode(last)) {
        return this.contentEnd(last);
      }
    }
    let end = node.range![1];
    while (end > node.range![0] && /\s/.test(this.text[end - 1])) {
      end--;
    }
    return end;
  }

  private pairEnd(pair: Pair): number {
    return isNode(pair.value) ? Math.max(this.contentEnd(pair.value), (pair.key as Node).range![1]) : (pair.key as Node).range![1];
  }

  /** Where a sequence item starts: its `-` for block sequences. */
  private itemStart(item: Node, seq: YAMLSeq): number {
    let i = item.range![0];
    if (seq.flow) {
      return i;
    }
    while (i > 0 && (this.text[i - 1] === ' ' || this.text[i - 1] === '\t')) {
      i--;
    }
    return this.text[i - 1] === '-' ? i - 1 : item.range![0];
  }

  private colonAfter(key: Node): number {
    const colon = this.text.indexOf(':', key.range![1]);
    return colon < 0 ? key.range![1] : colon;
  }

  private column(offset: number): number {
    return offset - lineStart(this.text, offset);
  }

  /** The end of the line holding `offset`, before its line break. */
  private lineEnd(offset: number): number {
    const nl = this.text.indexOf('\n', offset);
    if (nl < 0) {
      return this.text.length;
    }
    return this.text[nl - 1] === '\r' ? nl - 1 : nl;
  }

  /** The start of the line after the one holding `offset` (the end of the text on the last line). */
  private afterLine(offset: number): number {
    const nl = this.text.indexOf('\n', offset);
    return nl < 0 ? this.text.length : nl + 1;
  }
}

/**
 * An edit whose text is rendered on first read: rendering YAML costs more than finding where it goes, and
 * an editor reads a fix's edits only when the user picks the fix.
 */
function lazyEdit(start: number, end: number, render: () => string): TextEdit {
  let text: string | undefined;
  return {
    start,
    end,
    get newText() {
      return (text ??= render());
    },
  };
}

/** `{a: {b: items}}` for keys [a, b]. */
function nest(keys: readonly string[], items: readonly unknown[]): unknown {
  return keys.reduceRight<unknown>((value, key) => ({ [key]: value }), items);
}

/** One-line flow YAML, quoted for YAML 1.1 readers (kubectl) like every text FlowLens writes. */
function flowText(value: unknown): string {
  return new Document(value, { version: '1.1' }).toString({ collectionStyle: 'flow', lineWidth: 0 }).trimEnd();
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function firstLineRange(text: string, node: Node, end = node.range![1]): TextRange {
  const start = node.range![0];
  const nl = text.indexOf('\n', start);
  const lineEnd = nl < 0 ? text.length : text[nl - 1] === '\r' ? nl - 1 : nl;
  return { start, end: Math.max(start, Math.min(end, lineEnd)) };
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
