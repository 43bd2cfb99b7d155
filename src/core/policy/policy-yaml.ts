/**
 * Renders generated NetworkPolicies as one multi-document YAML text, in the layout `kubectl get -o yaml`
 * uses, with each policy's header and evidence comments placed above the nodes they describe.
 */
import { Document, parse, visit } from 'yaml';
import type { GeneratedPolicy } from './generate';

/** `preamble` lines become a comment at the top of the text. */
export function renderPoliciesYaml(policies: readonly GeneratedPolicy[], preamble: readonly string[] = []): string {
  const docs = policies.map((p, i) => {
    // kubectl reads YAML 1.1 (where y, no and on are booleans); quoting for 1.1 and 1.2 readers keeps every label a string.
    const doc = new Document(p.manifest, { version: '1.1' });
    visit(doc, {
      Scalar(_key, node) {
        // Only a scalar starting with a digit, sign or dot can read as a number in 1.2 (0o12, 1e3, .inf); the 1.1 quoting covers the rest.
        if (typeof node.value === 'string' && /^[-+.0-9]/.test(node.value) && typeof parse(node.value, { version: '1.2' }) !== 'string') {
          node.type = 'QUOTE_DOUBLE';
        }
      },
    });
    const header = i === 0 && preamble.length > 0 ? [...preamble, '', ...p.header] : p.header;
    doc.commentBefore = commentText(header);
    for (const c of p.comments) {
      const node = doc.getIn(c.path, true) as { commentBefore?: string | null } | undefined;
      if (!node || typeof node !== 'object') {
        throw new Error(`no node at ${c.path.join('.')} in ${p.manifest.metadata.namespace}/${p.manifest.metadata.name} for comment "${c.text}"`);
      }
      node.commentBefore = commentText(c.text.split('\n'));
    }
    return doc.toString({ indentSeq: false, lineWidth: 0 });
  });
  return docs.join('---\n');
}

/** The yaml library prefixes each comment line with "#": a leading space keeps "# text" readable. */
function commentText(lines: readonly string[]): string {
  return lines.map((l) => (l === '' ? '' : ` ${l}`)).join('\n');
}
