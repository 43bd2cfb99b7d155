/**
 * Decodes raw Kubernetes objects (as `kubectl get -o yaml|json` writes them) into the slim model.
 * Only the fields FlowLens uses are read; those are validated, everything else is ignored.
 */
import { z } from 'zod';
import { parseIp, type IpAddress } from '../net/ip';
import { decodeNetworkPolicy, type Decoded, type NetworkPolicy } from '../policy/network-policy';
import { zodFieldErrors, type FieldError, type FieldPath } from './field-error';
import { dnsLabelError, labelSelectorSchema, metadataSchema, portNameError, toLabelSelector, toLabels, toOwners } from './metadata';
import {
  PROTOCOLS,
  type ContainerPort,
  type EndpointSlice,
  type Namespace,
  type Node,
  type Pod,
  type Service,
  type SourceLocation,
  type Workload,
  type WorkloadKind,
} from './objects';

export type ClusterObject =
  | { kind: 'Namespace'; value: Namespace }
  | { kind: 'Pod'; value: Pod }
  | { kind: 'Node'; value: Node }
  | { kind: 'Service'; value: Service }
  | { kind: 'EndpointSlice'; value: EndpointSlice }
  | { kind: 'Workload'; value: Workload }
  | { kind: 'NetworkPolicy'; value: NetworkPolicy };

/** The kinds FlowLens reads, by API group and kind (the version is not checked except for NetworkPolicy). */
const DECODERS: Record<string, (raw: unknown, source?: SourceLocation) => Decoded<ClusterObject>> = {
  '/Namespace': (raw, source) => wrap('Namespace', decodeNamespace(raw, source)),
  '/Pod': (raw, source) => wrap('Pod', decodePod(raw, source)),
  '/Node': (raw, source) => wrap('Node', decodeNode(raw, source)),
  '/Service': (raw, source) => wrap('Service', decodeService(raw, source)),
  'discovery.k8s.io/EndpointSlice': (raw, source) => wrap('EndpointSlice', decodeEndpointSlice(raw, source)),
  'networking.k8s.io/NetworkPolicy': (raw, source) => wrap('NetworkPolicy', decodeNetworkPolicy(raw, 'default', source)),
  'extensions/NetworkPolicy': (raw, source) => wrap('NetworkPolicy', decodeNetworkPolicy(raw, 'default', source)),
  'apps/Deployment': (raw, source) => wrap('Workload', decodeWorkload('Deployment', raw, source)),
  'apps/ReplicaSet': (raw, source) => wrap('Workload', decodeWorkload('ReplicaSet', raw, source)),
  'apps/StatefulSet': (raw, source) => wrap('Workload', decodeWorkload('StatefulSet', raw, source)),
  'apps/DaemonSet': (raw, source) => wrap('Workload', decodeWorkload('DaemonSet', raw, source)),
  'batch/Job': (raw, source) => wrap('Workload', decodeWorkload('Job', raw, source)),
  'batch/CronJob': (raw, source) => wrap('Workload', decodeWorkload('CronJob', raw, source)),
};

/** The decoder for an apiVersion/kind pair, or undefined for kinds FlowLens does not read. */
export function decoderFor(apiVersion: string, kind: string): ((raw: unknown, source?: SourceLocation) => Decoded<ClusterObject>) | undefined {
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return DECODERS[`${group}/${kind}`];
}

function wrap<K extends ClusterObject['kind']>(kind: K, decoded: Decoded<Extract<ClusterObject, { kind: K }>['value']>): Decoded<ClusterObject> {
  return decoded.ok ? { ok: true, value: { kind, value: decoded.value } as ClusterObject } : decoded;
}

function finish<T>(errors: FieldError[], value: T): Decoded<T> {
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}

function parseWith<S extends z.ZodType>(schema: S, raw: unknown): Decoded<z.infer<S>> {
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: zodFieldErrors(parsed.error) };
}

function ips(texts: readonly string[], path: (i: number) => FieldPath, errors: FieldError[]): IpAddress[] {
  const out: IpAddress[] = [];
  texts.forEach((text, i) => {
    const ip = parseIp(text);
    if (ip) {
      out.push(ip);
    } else {
      errors.push({ path: path(i), message: `"${text}" is not a valid IP address` });
    }
  });
  return out;
}

function namespaceOf(meta: { namespace?: string | null }, errors: FieldError[]): string {
  const namespace = meta.namespace ?? 'default';
  const nsError = dnsLabelError(namespace);
  if (nsError) {
    errors.push({ path: ['metadata', 'namespace'], message: nsError });
  }
  return namespace;
}

const namespaceSchema = z.object({ metadata: metadataSchema });

export function decodeNamespace(raw: unknown, source?: SourceLocation): Decoded<Namespace> {
  const parsed = parseWith(namespaceSchema, raw);
  if (!parsed.ok) {
    return parsed;
  }
  const errors: FieldError[] = [];
  const { metadata } = parsed.value;
  const nameError = dnsLabelError(metadata.name);
  if (nameError) {
    errors.push({ path: ['metadata', 'name'], message: nameError });
  }
  const labels = new Map(toLabels(metadata.labels, ['metadata', 'labels'], errors));
  // The API server sets this label on every namespace (and keeps it equal to the name).
  labels.set('kubernetes.io/metadata.name', metadata.name);
  return finish(errors, { name: metadata.name, labels, source });
}

const containerPortSchema = z.object({
  containerPort: z.number().int(),
  name: z.string().nullish(),
  protocol: z.enum(PROTOCOLS as [string, ...string[]]).nullish(),
});
const containerSchema = z.object({ ports: z.array(containerPortSchema).nullish(), restartPolicy: z.string().nullish() });

const podSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({
      nodeName: z.string().nullish(),
      hostNetwork: z.boolean().nullish(),
      containers: z.array(containerSchema).nullish(),
      initContainers: z.array(containerSchema).nullish(),
    })
    .nullish(),
  status: z
    .object({
      phase: z.string().nullish(),
      podIP: z.string().nullish(),
      podIPs: z.array(z.object({ ip: z.string() })).nullish(),
      containerStatuses: z
        .array(z.object({ state: z.object({ terminated: z.object({ finishedAt: z.string().nullish() }).nullish() }).nullish() }))
        .nullish(),
    })
    .nullish(),
});

function timeMs(text: string | null | undefined): number | undefined {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

export function decodePod(raw: unknown, source?: SourceLocation): Decoded<Pod> {
  const parsed = parseWith(podSchema, raw);
  if (!parsed.ok) {
    return parsed;
  }
  const { metadata, spec, status } = parsed.value;
  const errors: FieldError[] = [];
  const namespace = namespaceOf(metadata, errors);
  const labels = toLabels(metadata.labels, ['metadata', 'labels'], errors);
  const ports: ContainerPort[] = [];
  const seenNames = new Set<string>();
  const collect = (field: 'containers' | 'initContainers') =>
    (spec?.[field] ?? []).forEach((container, c) => {
      // Only init containers that keep running (sidecars) serve traffic.
      if (field === 'initContainers' && container.restartPolicy !== 'Always') {
        return;
      }
      (container.ports ?? []).forEach((p, i) => {
        const at = ['spec', field, c, 'ports', i];
        if (p.containerPort < 1 || p.containerPort > 65535) {
          errors.push({ path: [...at, 'containerPort'], message: `${p.containerPort} must be between 1 and 65535` });
        }
        const name = p.name ?? undefined;
        if (name !== undefined) {
          const nameError = portNameError(name);
          if (nameError) {
            errors.push({ path: [...at, 'name'], message: nameError });
          } else if (seenNames.has(name)) {
            errors.push({ path: [...at, 'name'], message: `duplicate port name "${name}" in the pod` });
          }
          seenNames.add(name);
        }
        ports.push({ name, port: p.containerPort, protocol: (p.protocol ?? 'TCP') as ContainerPort['protocol'] });
      });
    });
  collect('containers');
  collect('initContainers');
  const ipTexts = status?.podIPs?.length ? status.podIPs.map((p) => p.ip) : status?.podIP ? [status.podIP] : [];
  const podIps = ips(ipTexts, (i) => (status?.podIPs?.length ? ['status', 'podIPs', i, 'ip'] : ['status', 'podIP']), errors);
  return finish(errors, {
    namespace,
    name: metadata.name,
    labels,
    ips: podIps,
    nodeName: spec?.nodeName ?? undefined,
    hostNetwork: spec?.hostNetwork === true,
    phase: status?.phase ?? undefined,
    ports,
    owners: toOwners(metadata),
    lifetime: podLifetime(metadata, status),
    source,
  });
}

function podLifetime(metadata: z.infer<typeof metadataSchema>, status: z.infer<typeof podSchema>['status']) {
  const finished = (status?.containerStatuses ?? []).map((c) => timeMs(c.state?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
  const terminal = status?.phase === 'Succeeded' || status?.phase === 'Failed';
  const toMs = terminal && finished.length > 0 ? Math.max(...finished) : timeMs(metadata.deletionTimestamp);
  return { fromMs: timeMs(metadata.creationTimestamp), toMs };
}

const nodeSchema = z.object({
  metadata: metadataSchema,
  status: z.object({ addresses: z.array(z.object({ type: z.string(), address: z.string() })).nullish() }).nullish(),
});

export function decodeNode(raw: unknown, source?: SourceLocation): Decoded<Node> {
  const parsed = parseWith(nodeSchema, raw);
  if (!parsed.ok) {
    return parsed;
  }
  const { metadata, status } = parsed.value;
  const errors: FieldError[] = [];
  const labels = toLabels(metadata.labels, ['metadata', 'labels'], errors);
  const addresses: Node['addresses'][number][] = [];
  (status?.addresses ?? []).forEach((a, i) => {
    if (a.type === 'Hostname' || a.type === 'InternalDNS' || a.type === 'ExternalDNS') {
      return;
    }
    const ip = parseIp(a.address);
    if (ip) {
      addresses.push({ type: a.type, ip });
    } else {
      errors.push({ path: ['status', 'addresses', i, 'address'], message: `"${a.address}" is not a valid IP address` });
    }
  });
  return finish(errors, { name: metadata.name, labels, addresses, source });
}

const serviceSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({
      type: z.string().nullish(),
      selector: z.record(z.string(), z.string()).nullish(),
      clusterIP: z.string().nullish(),
      clusterIPs: z.array(z.string()).nullish(),
      ports: z
        .array(
          z.object({
            name: z.string().nullish(),
            port: z.number().int(),
            targetPort: z.union([z.number().int(), z.string()], { error: 'must be a port number or a port name' }).nullish(),
            protocol: z.enum(PROTOCOLS as [string, ...string[]]).nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});

export function decodeService(raw: unknown, source?: SourceLocation): Decoded<Service> {
  const parsed = parseWith(serviceSchema, raw);
  if (!parsed.ok) {
    return parsed;
  }
  const { metadata, spec } = parsed.value;
  const errors: FieldError[] = [];
  const namespace = namespaceOf(metadata, errors);
  const texts = spec?.clusterIPs?.length ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : [];
  const clusterIPs = ips(
    texts.filter((t) => t !== 'None' && t !== ''),
    (i) => (spec?.clusterIPs?.length ? ['spec', 'clusterIPs', i] : ['spec', 'clusterIP']),
    errors,
  );
  const ports = (spec?.ports ?? []).map((p) => ({
    name: p.name ?? undefined,
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    protocol: (p.protocol ?? 'TCP') as Service['ports'][number]['protocol'],
  }));
  return finish(errors, {
    namespace,
    name: metadata.name,
    type: spec?.type ?? 'ClusterIP',
    selector: spec?.selector ? toLabels(spec.selector, ['spec', 'selector'], errors) : undefined,
    clusterIPs,
    ports,
    source,
  });
}

const endpointSliceSchema = z.object({
  metadata: metadataSchema,
  addressType: z.string().nullish(),
  ports: z
    .array(z.object({ name: z.string().nullish(), port: z.number().int().nullish(), protocol: z.enum(PROTOCOLS as [string, ...string[]]).nullish() }))
    .nullish(),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()),
        conditions: z.object({ ready: z.boolean().nullish() }).nullish(),
        nodeName: z.string().nullish(),
        zone: z.string().nullish(),
        targetRef: z.object({ kind: z.string().nullish(), namespace: z.string().nullish(), name: z.string().nullish() }).nullish(),
      }),
    )
    .nullish(),
});

export function decodeEndpointSlice(raw: unknown, source?: SourceLocation): Decoded<EndpointSlice> {
  const parsed = parseWith(endpointSliceSchema, raw);
  if (!parsed.ok) {
    return parsed;
  }
  const { metadata, endpoints, ports } = parsed.value;
  const errors: FieldError[] = [];
  const namespace = namespaceOf(metadata, errors);
  // FQDN slices carry host names, not addresses.
  const fqdn = parsed.value.addressType === 'FQDN';
  return finish(errors, {
    namespace,
    name: metadata.name,
    serviceName: metadata.labels?.['kubernetes.io/service-name'],
    ports: (ports ?? []).map((p) => ({
      name: p.name ?? undefined,
      port: p.port ?? undefined,
      protocol: (p.protocol ?? 'TCP') as EndpointSlice['ports'][number]['protocol'],
    })),
    endpoints: (endpoints ?? []).map((e, i) => ({
      addresses: fqdn ? [] : ips(e.addresses, (j) => ['endpoints', i, 'addresses', j], errors),
      // A nil ready condition means ready (discovery/v1 semantics).
      ready: e.conditions?.ready !== false,
      nodeName: e.nodeName ?? undefined,
      zone: e.zone ?? undefined,
      targetRef: e.targetRef?.name
        ? { kind: e.targetRef.kind ?? 'Pod', namespace: e.targetRef.namespace ?? undefined, name: e.targetRef.name }
        : undefined,
    })),
    source,
  });
}

const templateSchema = z.object({ metadata: z.object({ labels: z.record(z.string(), z.string()).nullish() }).nullish() }).nullish();
const workloadSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({
      selector: labelSelectorSchema.nullish(),
      template: templateSchema,
      jobTemplate: z.object({ spec: z.object({ template: templateSchema }).nullish() }).nullish(),
    })
    .nullish(),
});

export function decodeWorkload(kind: WorkloadKind, raw: unknown, source?: SourceLocation): Decoded<Workload> {
  const parsed = parseWith(workloadSchema, raw);
  if (!parsed.ok) {
    return parsed;
  }
  const { metadata, spec } = parsed.value;
  const errors: FieldError[] = [];
  const namespace = namespaceOf(metadata, errors);
  const template = kind === 'CronJob' ? spec?.jobTemplate?.spec?.template : spec?.template;
  const templatePath = kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
  return finish(errors, {
    kind,
    namespace,
    name: metadata.name,
    owners: toOwners(metadata),
    selector: spec?.selector ? toLabelSelector(spec.selector, ['spec', 'selector'], errors) : undefined,
    templateLabels: toLabels(template?.metadata?.labels, [...templatePath, 'metadata', 'labels'], errors),
    source,
  });
}
