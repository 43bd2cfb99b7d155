/**
 * Applies NetworkPolicies with server-side apply under the field manager "flowlens": first as a dry run
 * (what would change, as two cleaned YAML texts for a diff editor), then for real. Only the given
 * policies are ever written; failures come back as values that say, in one line, what is wrong and how
 * to fix it, with the field paths of the API server's validation errors for the editor.
 */
import { KubeConfig, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { isScalar, stringify, type Pair } from 'yaml';
import { formatPath, type FieldError, type FieldPath } from '../core/kube/field-error';
import { FIELD_MANAGER } from './agent-deployment';
import { apiStatus, ClusterError, toClusterError, type ClusterErrorKind } from './cluster-error';
import { identityOf } from './kubeconfig';
import { requestJson } from './raw-api';

export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
}

export interface PolicyChange extends PolicyRef {
  readonly ok: true;
  readonly action: 'create' | 'update' | 'unchanged';
  /** The policy in the cluster before, cleaned of server bookkeeping; absent when it does not exist. */
  readonly currentYaml?: string;
  /** The policy as the API server returned it (would store it, for a dry run), cleaned the same way. */
  readonly resultYaml: string;
}

export interface PolicyFailure extends PolicyRef {
  readonly ok: false;
  readonly error: PolicyError;
}

export type PolicyOutcome = PolicyChange | PolicyFailure;

/** A field whose value the policy would change although another field manager owns it. */
export interface FieldConflict {
  readonly manager: string;
  readonly path: FieldPath;
}

export interface RbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Every variant's message is one line: what failed, for which policy, and how to fix it. */
export type PolicyError =
  | { readonly kind: 'invalid'; readonly message: string; readonly causes: readonly FieldError[] }
  | { readonly kind: 'conflict'; readonly message: string; readonly conflicts: readonly FieldConflict[] }
  | { readonly kind: 'forbidden'; readonly message: string; readonly user?: string; readonly verb: string; readonly resource: string; readonly namespace: string; readonly rule: RbacRule }
  | { readonly kind: 'namespace-not-found'; readonly message: string; readonly namespace: string }
  /** Not tried: another policy of the same apply failed first. */
  | { readonly kind: 'skipped'; readonly message: string }
  /** Unreachable API server, rejected credentials and everything else the shared classification knows. */
  | { readonly kind: 'cluster'; readonly message: string; readonly error: ClusterError };

export interface ApplyOptions {
  /** Take ownership of fields other field managers own (server-side apply's force). Only on the user's explicit choice. */
  readonly force?: boolean;
}

/**
 * What applying each policy would do, without changing anything. `policies` are NetworkPolicy
 * manifests as parsed from the user's YAML, with metadata.namespace already set.
 */
export async function dryRunPolicies(kc: KubeConfig, policies: readonly KubernetesObject[], options: ApplyOptions = {}): Promise<PolicyOutcome[]> {
  return runAll(kc, policies, 'dry-run', true, options.force === true);
}

/**
 * Applies the policies, all or none as far as the API server can tell in advance: every policy is
 * dry-run first, and if any fails nothing is applied. Should a real apply still fail, the ones after it
 * are not tried. Returns what each policy now is in the cluster.
 */
export async function applyPolicies(kc: KubeConfig, policies: readonly KubernetesObject[], options: ApplyOptions = {}): Promise<PolicyOutcome[]> {
  const preflight = await runAll(kc, policies, 'apply', true, options.force === true);
  const failed = preflight.find((o) => !o.ok);
  if (failed) {
    return preflight.map((o) =>
      o.ok ? skipped(o, `NetworkPolicy ${o.namespace}/${o.name} was not applied, and neither was any other, because NetworkPolicy ${failed.namespace}/${failed.name} failed its dry run; fix that and apply again`) : o,
    );
  }
  return runAll(kc, policies, 'apply', false, options.force === true);
}

const APPLY_RULE: RbacRule = { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'create', 'patch'] };
/** After these, every further request would fail the same way. */
const CLUSTER_DOWN = new Set<ClusterErrorKind>(['unreachable', 'unauthorized']);

type Verb = 'dry-run' | 'apply';

/** One policy after the other; a real apply stops at the first failure, so that what follows it is not applied. */
async function runAll(kc: KubeConfig, policies: readonly KubernetesObject[], verb: Verb, dryRun: boolean, force: boolean): Promise<PolicyOutcome[]> {
  const outcomes: PolicyOutcome[] = [];
  let clusterDown: unknown;
  let failed: PolicyRef | undefined;
  for (const policy of policies) {
    const ref = refOf(policy);
    if (clusterDown !== undefined) {
      outcomes.push({ ...ref, ok: false, error: explain(clusterDown, kc, policy, ref, verb, 'get') });
    } else if (failed) {
      outcomes.push(skipped(ref, `NetworkPolicy ${ref.namespace}/${ref.name} was not applied because applying NetworkPolicy ${failed.namespace}/${failed.name} failed; fix that and apply again`));
    } else {
      const { result, cause } = await runOne(kc, policy, ref, verb, dryRun, force);
      outcomes.push(result);
      if (!result.ok && result.error.kind === 'cluster' && CLUSTER_DOWN.has(result.error.error.kind)) {
        clusterDown = cause;
      } else if (!result.ok && !dryRun) {
        failed = ref;
      }
    }
  }
  return outcomes;
}

async function runOne(kc: KubeConfig, policy: KubernetesObject, ref: PolicyRef, verb: Verb, dryRun: boolean, force: boolean): Promise<{ result: PolicyOutcome; cause?: unknown }> {
  if (!policy.metadata?.name || !policy.metadata.namespace) {
    const path = policy.metadata?.name ? ['metadata', 'namespace'] : ['metadata', 'name'];
    const message = `cannot ${verb} NetworkPolicy ${ref.namespace}/${ref.name}: ${formatPath(path)} is missing; set it in the manifest`;
    return { result: { ...ref, ok: false, error: { kind: 'invalid', message, causes: [{ path, message: 'is required' }] } } };
  }
  const path = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(ref.namespace)}/networkpolicies/${encodeURIComponent(ref.name)}`;
  let step: 'get' | 'patch' = 'get';
  try {
    const current = await (requestJson(kc, { method: 'GET', path }) as Promise<KubernetesObject>).catch((e: unknown) => {
      if (toClusterError(e, 'read').kind === 'not-found') {
        return undefined;
      }
      throw e;
    });
    step = 'patch';
    const query: Record<string, string> = { fieldManager: FIELD_MANAGER, ...(dryRun ? { dryRun: 'All' } : {}), ...(force ? { force: 'true' } : {}) };
    const result = (await requestJson(kc, { method: 'PATCH', path, query, body: policy, contentType: PatchStrategy.ServerSideApply })) as KubernetesObject;
    const resultYaml = cleanYaml(result);
    const currentYaml = current && cleanYaml(current);
    const action = currentYaml === undefined ? 'create' : currentYaml === resultYaml ? 'unchanged' : 'update';
    return { result: { ...ref, ok: true, action, ...(currentYaml === undefined ? {} : { currentYaml }), resultYaml } };
  } catch (e) {
    return { result: { ...ref, ok: false, error: explain(e, kc, policy, ref, verb, step) }, cause: e };
  }
}

function refOf(policy: KubernetesObject): PolicyRef {
  return { namespace: policy.metadata?.namespace ?? '(no namespace)', name: policy.metadata?.name ?? '(no name)' };
}

function skipped(ref: PolicyRef, message: string): PolicyFailure {
  return { namespace: ref.namespace, name: ref.name, ok: false, error: { kind: 'skipped', message } };
}

/** Turns a failed request into the explanation the user sees; `step` is the request that failed. */
function explain(e: unknown, kc: KubeConfig, policy: KubernetesObject, ref: PolicyRef, verb: Verb, step: 'get' | 'patch'): PolicyError {
  const what = `${verb} NetworkPolicy ${ref.namespace}/${ref.name}`;
  const err = toClusterError(e, what, identityOf(kc));
  const status = apiStatus(e);
  switch (err.kind) {
    case 'invalid': {
      const fromCauses = (status?.details?.causes ?? []).map((c) => ({ path: parseFieldPath(c.field ?? '', policy), message: c.message ?? '' }));
      return invalid(what, fromCauses.length > 0 ? fromCauses : [{ path: [], message: status?.message ?? err.message }]);
    }
    case 'conflict': {
      const conflicts = (status?.details?.causes ?? [])
        .filter((c) => c.reason === 'FieldManagerConflict')
        .map((c) => ({ manager: /"([^"]+)"/.exec(c.message ?? '')?.[1] ?? 'another manager', path: parseFieldPath(c.field ?? '', policy) }));
      if (conflicts.length > 0) {
        const managers = [...new Set(conflicts.map((c) => c.manager))];
        const owned = managers.map((m) => `"${m}" owns ${conflicts.filter((c) => c.manager === m).map((c) => formatPath(c.path)).join(', ')}`);
        return {
          kind: 'conflict',
          conflicts,
          message: `cannot ${what}: it would change fields that another field manager owns (${owned.join('; ')}); keep their values from the cluster or leave them out of the manifest, or take ownership (force) to make ${FIELD_MANAGER} their manager`,
        };
      }
      break;
    }
    case 'forbidden': {
      const denied = /User "([^"]*)" cannot (\S+) resource "([^"]*)"(?: in API group "[^"]*")?(?: in the namespace "([^"]*)")?/.exec(status?.message ?? '');
      const user = denied?.[1];
      const deniedVerb = denied?.[2] ?? step;
      const resource = denied?.[3] ?? APPLY_RULE.resources[0];
      const namespace = denied?.[4] ?? ref.namespace;
      return {
        kind: 'forbidden',
        ...(user === undefined ? {} : { user }),
        verb: deniedVerb,
        resource,
        namespace,
        rule: APPLY_RULE,
        message: `cannot ${what}: ${user ?? 'the current user'} may not ${deniedVerb} ${resource} in namespace ${namespace}; a cluster admin can grant ${APPLY_RULE.verbs.join(', ')} on ${APPLY_RULE.resources[0]} (API group ${APPLY_RULE.apiGroups[0]}) there, as the ClusterRole flowlens-user does`,
      };
    }
    case 'not-found':
      if (status?.details?.kind === 'namespaces') {
        return {
          kind: 'namespace-not-found',
          namespace: ref.namespace,
          message: `cannot ${what}: namespace ${ref.namespace} does not exist; create it first (kubectl create namespace ${ref.namespace}) or set metadata.namespace to an existing one`,
        };
      }
      break;
    case 'other': {
      // Server-side apply reports fields its schema does not know (or of the wrong type) as an internal
      // error with the field paths in the text: ".spec.x: field not declared in schema".
      const typed = /^failed to create typed patch object \([^)]*\): ([\s\S]*)$/.exec(status?.message ?? '');
      if (typed) {
        const causes = typed[1]
          .split('\n')
          .map((line) => /^\s*(\.\S*): (.*)$/.exec(line))
          .filter((m) => m !== null)
          .map((m) => ({ path: parseFieldPath(m[1], policy), message: m[2] }));
        return invalid(what, causes.length > 0 ? causes : [{ path: [], message: typed[1] }]);
      }
    }
  }
  return { kind: 'cluster', message: err.full, error: err };
}

function invalid(what: string, causes: FieldError[]): PolicyError {
  const listed = causes.map((c) => (c.path.length > 0 ? `${formatPath(c.path)}: ${c.message}` : c.message)).join('; ');
  return { kind: 'invalid', causes, message: `cannot ${what}: the API server rejected it: ${listed}; correct the manifest and try again` };
}

/**
 * "spec.ingress[0].ports[0].port" (validation) or ".metadata.labels.app.kubernetes.io/name" (apply
 * conflicts) as a FieldPath. Map keys may contain dots, so a key of the manifest that matches is taken whole.
 */
function parseFieldPath(text: string, manifest: unknown): FieldPath {
  const path: (string | number)[] = [];
  let node = manifest;
  let rest = text.replace(/^\./, '');
  while (rest.length > 0) {
    let part: string | number;
    const index = /^\[([^\]]*)\]\.?/.exec(rest);
    if (index) {
      part = /^\d+$/.test(index[1]) ? Number(index[1]) : index[1];
      rest = rest.slice(index[0].length);
    } else {
      const keys = node !== null && typeof node === 'object' && !Array.isArray(node) ? Object.keys(node) : [];
      const key = keys.filter((k) => rest.startsWith(k) && (rest.length === k.length || rest[k.length] === '.' || rest[k.length] === '[')).sort((a, b) => b.length - a.length)[0];
      part = key ?? /^[^.[]*/.exec(rest)![0];
      rest = rest.slice(part.length).replace(/^\./, '');
    }
    path.push(part);
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[part] : undefined;
  }
  return path;
}

/** Key order of both YAML texts: Kubernetes' usual order first, anything else alphabetically after. */
const KEY_ORDER = ['apiVersion', 'kind', 'metadata', 'name', 'namespace', 'labels', 'annotations', 'spec', 'podSelector', 'policyTypes', 'ingress', 'egress', 'from', 'to', 'ports'];

function keyText(pair: Pair): string {
  return String(isScalar(pair.key) ? pair.key.value : pair.key);
}

function compareKeys(a: Pair, b: Pair): number {
  const [ka, kb] = [keyText(a), keyText(b)];
  const [ra, rb] = [KEY_ORDER.indexOf(ka), KEY_ORDER.indexOf(kb)];
  if (ra !== rb) {
    return ra < 0 ? 1 : rb < 0 ? -1 : ra - rb;
  }
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The object without what the server keeps for itself, so that a diff shows only what the policy changes. */
function cleanYaml(obj: KubernetesObject): string {
  const copy = structuredClone(obj) as KubernetesObject & { status?: unknown };
  delete copy.status;
  const meta = copy.metadata;
  if (meta) {
    delete meta.managedFields;
    delete meta.resourceVersion;
    delete meta.uid;
    delete meta.generation;
    delete meta.creationTimestamp;
    if (meta.annotations) {
      delete meta.annotations['kubectl.kubernetes.io/last-applied-configuration'];
      if (Object.keys(meta.annotations).length === 0) {
        delete meta.annotations;
      }
    }
  }
  return stringify(copy, { sortMapEntries: compareKeys, lineWidth: 0 });
}
