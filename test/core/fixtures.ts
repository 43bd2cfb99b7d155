/** Builds cluster snapshots for tests from YAML text, failing loudly on any loader error. */
import { buildCluster, type Cluster } from '../../src/core/kube/cluster';
import { parseManifests } from '../../src/core/kube/manifest';
import { PolicyEngine, type Probe } from '../../src/core/policy/engine';
import type { NetworkPolicy } from '../../src/core/policy/network-policy';

export function clusterFromYaml(yaml: string, file = 'test.yaml'): Cluster {
  const parsed = parseManifests(yaml, file);
  if (parsed.errors.length > 0) {
    throw new Error(`fixture does not load: ${parsed.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('; ')}`);
  }
  const built = buildCluster(parsed.objects);
  if (built.errors.length > 0) {
    throw new Error(`fixture is ambiguous: ${built.errors.join('; ')}`);
  }
  return built.cluster;
}

/** Decodes NetworkPolicies from YAML (multi-document), failing loudly on errors. */
export function policiesFromYaml(yaml: string): NetworkPolicy[] {
  return clusterFromYaml(yaml, 'policies.yaml').policies.slice();
}

/** True when the probe is allowed. */
export function allowed(engine: PolicyEngine, probe: Probe): boolean {
  return engine.allows(engine.prepare(probe));
}
