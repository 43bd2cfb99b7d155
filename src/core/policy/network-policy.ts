/**
 * networking.k8s.io/v1 NetworkPolicy: the model the engine evaluates, and its decoder, which applies
 * the API server's defaulting (policyTypes, protocol) and validation (pkg/apis/networking/validation)
 * so that anything the server would reject is reported at the field it concerns.
 */
import { z } from 'zod';
import { cidrStrictlyContains, parseCidr, type Cidr } from '../net/ip';
import { zodFieldErrors, type FieldError, type FieldPath } from '../kube/field-error';
import { dnsLabelError, dnsSubdomainError, labelSelectorSchema, metadataSchema, portNameError, toLabelSelector, type RawLabelSelector } from '../kube/metadata';
import type { Protocol, SourceLocation } from '../kube/objects';
import type { LabelSelector } from '../kube/selector';

export type Direction = 'ingress' | 'egress';

export interface IpBlockPeer {
  readonly kind: 'ipBlock';
  readonly cidr: Cidr;
  readonly except: readonly Cidr[];
}

/** podSelector and/or namespaceSelector; both present means both must match (AND). */
export interface SelectorPeer {
  readonly kind: 'selector';
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
}

export type PolicyPeer = IpBlockPeer | SelectorPeer;

export interface PolicyPort {
  readonly protocol: Protocol;
  /** Undefined: every port of the protocol. A string is a named container port. */
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface PolicyRule {
  /** Empty (or omitted in the manifest): every peer, including ones outside the cluster. */
  readonly peers: readonly PolicyPeer[];
  /** Empty (or omitted): every port and protocol. */
  readonly ports: readonly PolicyPort[];
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Effective policyTypes after the API server's defaulting. */
  readonly isolates: { readonly ingress: boolean; readonly egress: boolean };
  /** True when policyTypes was omitted and the defaulting rule decided. */
  readonly policyTypesDefaulted: boolean;
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
  readonly source?: SourceLocation;
}

export const NETWORK_POLICY_API_VERSION = 'networking.k8s.io/v1';

const portSchema = z.strictObject({
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).nullish(),
  port: z.union([z.number().int(), z.string()], { error: 'must be a port number or a port name' }).nullish(),
  endPort: z.number({ error: 'must be a port number' }).int({ error: 'must be a whole number' }).nullish(),
});

const peerSchema = z.strictObject({
  podSelector: labelSelectorSchema.nullish(),
  namespaceSelector: labelSelectorSchema.nullish(),
  ipBlock: z.strictObject({ cidr: z.string({ error: 'cidr is required' }), except: z.array(z.string()).nullish() }).nullish(),
});

const specSchema = z.strictObject({
  podSelector: labelSelectorSchema.nullish(),
  policyTypes: z.array(z.enum(['Ingress', 'Egress'])).nullish(),
  ingress: z.array(z.strictObject({ from: z.array(peerSchema).nullish(), ports: z.array(portSchema).nullish() })).nullish(),
  egress: z.array(z.strictObject({ to: z.array(peerSchema).nullish(), ports: z.array(portSchema).nullish() })).nullish(),
});

const networkPolicySchema = z.object({
  apiVersion: z.literal(NETWORK_POLICY_API_VERSION, { error: `apiVersion must be ${NETWORK_POLICY_API_VERSION}` }),
  kind: z.literal('NetworkPolicy'),
  metadata: metadataSchema,
  spec: specSchema.nullish(),
});

type RawPeer = z.infer<typeof peerSchema>;
type RawPort = z.infer<typeof portSchema>;

export type Decoded<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Decodes and validates a raw NetworkPolicy object; namespace defaults to `defaultNamespace`. */
export function decodeNetworkPolicy(raw: unknown, defaultNamespace = 'default', source?: SourceLocation): Decoded<NetworkPolicy> {
  const parsed = networkPolicySchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, errors: zodFieldErrors(parsed.error) };
  }
  const { metadata, spec } = parsed.data;
  const errors: FieldError[] = [];
  const nameError = dnsSubdomainError(metadata.name);
  if (nameError) {
    errors.push({ path: ['metadata', 'name'], message: nameError });
  }
  const namespace = metadata.namespace ?? defaultNamespace;
  const nsError = dnsLabelError(namespace);
  if (nsError) {
    errors.push({ path: ['metadata', 'namespace'], message: nsError });
  }
  const podSelector = toLabelSelector(spec?.podSelector, ['spec', 'podSelector'], errors);
  const ingress = (spec?.ingress ?? []).map((rule, i) => ({
    peers: decodePeers(rule.from, ['spec', 'ingress', i, 'from'], errors),
    ports: decodePorts(rule.ports, ['spec', 'ingress', i, 'ports'], errors),
  }));
  const egress = (spec?.egress ?? []).map((rule, i) => ({
    peers: decodePeers(rule.to, ['spec', 'egress', i, 'to'], errors),
    ports: decodePorts(rule.ports, ['spec', 'egress', i, 'ports'], errors),
  }));
  const types = spec?.policyTypes ?? [];
  if (types.length > 2) {
    errors.push({ path: ['spec', 'policyTypes'], message: 'may not specify more than two policyTypes' });
  }
  if (errors.length > 0) {
    return { ok: false, errors };
  }
  // The API server's defaulting: without policyTypes a policy isolates ingress, and egress only
  // when it has at least one egress rule (an empty `egress: []` does not count).
  const defaulted = types.length === 0;
  const isolates = defaulted
    ? { ingress: true, egress: egress.length > 0 }
    : { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return {
    ok: true,
    value: { namespace, name: metadata.name, podSelector, isolates, policyTypesDefaulted: defaulted, ingress, egress, source },
  };
}

function decodePeers(raw: readonly RawPeer[] | null | undefined, path: FieldPath, errors: FieldError[]): PolicyPeer[] {
  const peers: PolicyPeer[] = [];
  (raw ?? []).forEach((peer, i) => {
    const at = [...path, i];
    const present = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter((p) => p !== null && p !== undefined).length;
    if (present === 0) {
      errors.push({ path: at, message: 'must specify a peer: podSelector, namespaceSelector or ipBlock (an empty peer is rejected by the API server; omit `from`/`to` to allow everything)' });
      return;
    }
    if (peer.ipBlock) {
      if (present > 1) {
        errors.push({ path: at, message: 'may not specify both ipBlock and another peer' });
        return;
      }
      const block = decodeIpBlock(peer.ipBlock, [...at, 'ipBlock'], errors);
      if (block) {
        peers.push(block);
      }
      return;
    }
    peers.push({
      kind: 'selector',
      podSelector: optionalSelector(peer.podSelector, [...at, 'podSelector'], errors),
      namespaceSelector: optionalSelector(peer.namespaceSelector, [...at, 'namespaceSelector'], errors),
    });
  });
  return peers;
}

function optionalSelector(raw: RawLabelSelector | null | undefined, path: FieldPath, errors: FieldError[]): LabelSelector | undefined {
  return raw === null || raw === undefined ? undefined : toLabelSelector(raw, path, errors);
}

function decodeIpBlock(raw: { cidr: string; except?: string[] | null }, path: FieldPath, errors: FieldError[]): IpBlockPeer | undefined {
  const cidr = parseCidr(raw.cidr);
  if (!cidr.ok) {
    errors.push({ path: [...path, 'cidr'], message: cidr.error });
    return undefined;
  }
  const except: Cidr[] = [];
  (raw.except ?? []).forEach((text, i) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      errors.push({ path: [...path, 'except', i], message: parsed.error });
    } else if (!cidrStrictlyContains(cidr.cidr, parsed.cidr)) {
      errors.push({ path: [...path, 'except', i], message: `${parsed.cidr.text} must be a strict subset of cidr ${cidr.cidr.text}` });
    } else {
      except.push(parsed.cidr);
    }
  });
  return { kind: 'ipBlock', cidr: cidr.cidr, except };
}

function decodePorts(raw: readonly RawPort[] | null | undefined, path: FieldPath, errors: FieldError[]): PolicyPort[] {
  return (raw ?? []).map((p, i) => {
    const at = [...path, i];
    const protocol = p.protocol ?? 'TCP';
    const port = p.port ?? undefined;
    const endPort = p.endPort ?? undefined;
    if (typeof port === 'number' && (port < 1 || port > 65535)) {
      errors.push({ path: [...at, 'port'], message: `${port} must be between 1 and 65535` });
    }
    if (typeof port === 'string') {
      const nameError = portNameError(port);
      if (nameError) {
        errors.push({ path: [...at, 'port'], message: nameError });
      }
    }
    if (endPort !== undefined) {
      if (port === undefined) {
        errors.push({ path: [...at, 'endPort'], message: 'may not be specified when port is not specified' });
      } else if (typeof port === 'string') {
        errors.push({ path: [...at, 'endPort'], message: `may not be specified when port is a named port ("${port}")` });
      } else if (endPort < port) {
        errors.push({ path: [...at, 'endPort'], message: `${endPort} must be greater than or equal to port ${port}` });
      } else if (endPort > 65535) {
        errors.push({ path: [...at, 'endPort'], message: `${endPort} must be between 1 and 65535` });
      }
    }
    return { protocol, port, endPort };
  });
}

export function policyId(policy: Pick<NetworkPolicy, 'namespace' | 'name'>): string {
  return `${policy.namespace}/${policy.name}`;
}
