/**
 * A deliberately naive NetworkPolicy evaluator, written straight from the API reference with no
 * indexes, caches or early exits: the oracle the indexed engine is checked against on random input.
 */
import type { Cluster } from '../../../src/core/kube/cluster';
import type { Pod, Protocol } from '../../../src/core/kube/objects';
import { cidrContains, parseIp, type IpAddress } from '../../../src/core/net/ip';
import { EVERYTHING, selectorMatches } from '../../../src/core/kube/selector';
import type { NetworkPolicy, PolicyPeer, PolicyPort } from '../../../src/core/policy/network-policy';

interface End {
  pod?: Pod;
  node?: string;
  ip?: IpAddress;
}

export interface ReferenceProbe {
  from: string | { ip: string };
  to: string | { ip: string };
  port: number;
  protocol: Protocol;
}

export function referenceAllows(cluster: Cluster, policies: readonly NetworkPolicy[], probe: ReferenceProbe): boolean {
  const src = end(cluster, probe.from);
  const dst = end(cluster, probe.to);
  const isolating = (pod: Pod, egress: boolean) =>
    policies.filter((p) => p.namespace === pod.namespace && (egress ? p.isolates.egress : p.isolates.ingress) && selectorMatches(p.podSelector, pod.labels));

  let egressOk = true;
  if (src.pod) {
    const applying = isolating(src.pod, true);
    egressOk = applying.length === 0 || applying.some((p) => p.egress.some((r) => peersMatch(cluster, r.peers, p.namespace, dst) && portsMatch(r.ports, dst, probe)));
  }
  let ingressOk = true;
  if (dst.pod) {
    const ownNode = src.node !== undefined && src.node === dst.pod.nodeName;
    const applying = isolating(dst.pod, false);
    ingressOk = ownNode || applying.length === 0 || applying.some((p) => p.ingress.some((r) => peersMatch(cluster, r.peers, p.namespace, src) && portsMatch(r.ports, dst, probe)));
  }
  return egressOk && ingressOk;
}

function end(cluster: Cluster, ref: string | { ip: string }): End {
  if (typeof ref === 'string') {
    const pod = cluster.pods.find((p) => `${p.namespace}/${p.name}` === ref);
    if (!pod) {
      throw new Error(`no pod ${ref}`);
    }
    return pod.hostNetwork ? { node: pod.nodeName, ip: pod.ips[0] } : { pod, ip: pod.ips[0] };
  }
  const ip = parseIp(ref.ip)!;
  const pod = cluster.pods.find((p) => !p.hostNetwork && p.ips.some((a) => a.text === ip.text));
  if (pod) {
    return { pod, ip };
  }
  const hostPod = cluster.pods.find((p) => p.hostNetwork && p.ips.some((a) => a.text === ip.text));
  const node = [...cluster.nodes.values()].find((n) => n.addresses.some((a) => a.ip.text === ip.text));
  return { node: hostPod?.nodeName ?? node?.name, ip };
}

function peersMatch(cluster: Cluster, peers: readonly PolicyPeer[], policyNs: string, other: End): boolean {
  if (peers.length === 0) {
    return true;
  }
  return peers.some((peer) => {
    if (peer.kind === 'ipBlock') {
      return other.ip !== undefined && cidrContains(peer.cidr, other.ip) && !peer.except.some((e) => cidrContains(e, other.ip!));
    }
    if (!other.pod) {
      return false;
    }
    const nsOk = peer.namespaceSelector
      ? selectorMatches(peer.namespaceSelector, cluster.namespaces.get(other.pod.namespace)!.labels)
      : other.pod.namespace === policyNs;
    return nsOk && selectorMatches(peer.podSelector ?? EVERYTHING, other.pod.labels);
  });
}

function portsMatch(ports: readonly PolicyPort[], dst: End, probe: ReferenceProbe): boolean {
  if (ports.length === 0) {
    return true;
  }
  return ports.some((p) => {
    if (p.protocol !== probe.protocol) {
      return false;
    }
    if (p.port === undefined) {
      return true;
    }
    if (typeof p.port === 'number') {
      return probe.port >= p.port && probe.port <= (p.endPort ?? p.port);
    }
    return dst.pod !== undefined && dst.pod.ports.some((c) => c.name === p.port && c.protocol === probe.protocol && c.port === probe.port);
  });
}
