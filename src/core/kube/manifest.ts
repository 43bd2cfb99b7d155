/**
 * Reads Kubernetes manifests: YAML or JSON, a single object, a `kind: List` (or `PodList` & co. as the
 * API returns them) or several documents. Every object keeps the file and line it came from, and every
 * error names the file, the line and the field. YAML is read with 1.1 rules, as kubectl reads it
 * (so `yes` is a boolean, not a string).
 */
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { decoderFor, type ClusterObject } from './decode';
import { formatPath, type FieldError, type FieldPath } from './field-error';

export interface ManifestMessage {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface ParsedManifests {
  readonly objects: ClusterObject[];
  /** Objects that were skipped on purpose (kinds FlowLens does not read). */
  readonly notes: ManifestMessage[];
  /** Malformed documents or objects; when non-empty the input must be rejected. */
  readonly errors: ManifestMessage[];
}

export function formatManifestMessage(m: ManifestMessage): string {
  return `${m.file}:${m.line}: ${m.message}`;
}

export interface RawItem {
  readonly raw: Record<string, unknown>;
  /** Path of the item inside its document (["items", 3] for list members). */
  readonly path: FieldPath;
}

/** The documents of a YAML stream, read as kubectl reads them (YAML 1.1, unique keys), with their lines. */
export function parseYamlStream(text: string): { docs: Document.Parsed[]; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, version: '1.1', prettyErrors: false, uniqueKeys: true });
  // parseAllDocuments returns an EmptyStream (an array-like with no documents) for empty input.
  return { docs: Array.from(docs as Iterable<Document.Parsed>), lineCounter };
}

/** A document's plain value; throws on alias bombs (more aliases than any real manifest has). */
export function documentValue(doc: Document.Parsed): unknown {
  return doc.toJS({ maxAliasCount: 1000 });
}

export function parseManifests(text: string, file: string): ParsedManifests {
  const { docs, lineCounter } = parseYamlStream(text);
  const result: ParsedManifests = { objects: [], notes: [], errors: [] };
  for (const doc of docs) {
    const lineOf = (path: FieldPath) => lineOfPath(doc, lineCounter, path);
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
      result.errors.push({ file, line, message: `invalid YAML/JSON: ${firstLine(err.message)}` });
      continue;
    }
    let value: unknown;
    try {
      value = documentValue(doc);
    } catch (e) {
      result.errors.push({ file, line: lineOf([]), message: `invalid YAML: ${firstLine((e as Error).message)}` });
      continue;
    }
    if (value === null || value === undefined) {
      continue;
    }
    const { items, errors } = expandLists(value);
    for (const e of errors) {
      result.errors.push({ file, line: lineOf(e.path), message: e.message });
    }
    for (const item of items) {
      decodeItem(item, file, lineOf, result);
    }
  }
  return result;
}

/** The objects of a document's value: the value itself, or the members of a `kind: List` (or `PodList` & co.). */
export function expandLists(value: unknown): { items: RawItem[]; errors: FieldError[] } {
  if (!isObject(value)) {
    return { items: [], errors: [{ path: [], message: 'expected a Kubernetes object (a mapping with apiVersion and kind)' }] };
  }
  const kind = value.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && 'items' in value) {
    if (!Array.isArray(value.items)) {
      return { items: [], errors: [{ path: ['items'], message: `${kind}.items must be a list` }] };
    }
    // Typed lists from the API (PodList) omit kind and apiVersion on their items.
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    const items: RawItem[] = [];
    const errors: FieldError[] = [];
    value.items.forEach((item: unknown, i: number) => {
      if (!isObject(item)) {
        errors.push({ path: ['items', i], message: `${kind}.items[${i}] is not an object` });
        return;
      }
      const filled = itemKind && item.kind === undefined ? { ...item, kind: itemKind, apiVersion: item.apiVersion ?? value.apiVersion } : item;
      items.push({ raw: filled, path: ['items', i] });
    });
    return { items, errors };
  }
  return { items: [{ raw: value, path: [] }], errors: [] };
}

function decodeItem(item: RawItem, file: string, lineOf: (p: FieldPath) => number, result: ParsedManifests): void {
  const { raw, path } = item;
  const line = lineOf(path);
  if (typeof raw.kind !== 'string' || raw.kind === '') {
    result.errors.push({ file, line, message: 'missing "kind"' });
    return;
  }
  if (typeof raw.apiVersion !== 'string' || raw.apiVersion === '') {
    result.errors.push({ file, line, message: `${raw.kind}: missing "apiVersion"` });
    return;
  }
  const name = isObject(raw.metadata) && typeof raw.metadata.name === 'string' ? raw.metadata.name : undefined;
  const namespace = isObject(raw.metadata) && typeof raw.metadata.namespace === 'string' ? raw.metadata.namespace : undefined;
  const label = `${raw.kind} ${namespace ? `${namespace}/` : ''}${name ?? '(unnamed)'}`;
  const decode = decoderFor(raw.apiVersion, raw.kind);
  if (!decode) {
    const hint = raw.kind === 'NetworkPolicy' ? ` (a ${raw.apiVersion} NetworkPolicy is not a Kubernetes networking.k8s.io/v1 NetworkPolicy)` : '';
    result.notes.push({ file, line, message: `ignoring ${raw.apiVersion} ${label}: FlowLens does not read this kind${hint}` });
    return;
  }
  const decoded = decode(raw, { file, line });
  if (!decoded.ok) {
    for (const error of decoded.errors) {
      const fieldLine = lineOf([...path, ...error.path]);
      const field = formatPath(error.path);
      result.errors.push({ file, line: fieldLine, message: `${label}: ${field ? `${field}: ` : ''}${error.message}` });
    }
    return;
  }
  result.objects.push(decoded.value);
}

/** Line (1-based) of the node at `path`, or of its nearest existing ancestor. */
function lineOfPath(doc: Document.Parsed, lineCounter: LineCounter, path: FieldPath): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      return lineCounter.linePos(range[0]).line;
    }
  }
  return 1;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
