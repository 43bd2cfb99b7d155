/**
 * Cloud service address ranges in the AWS ip-ranges.json format
 * ({"prefixes": [{"ip_prefix", "service", "region"}], "ipv6_prefixes": [{"ipv6_prefix", ...}]}).
 * An address maps to the most specific range's service; the umbrella service AMAZON only when no
 * specific one covers it (every S3 range is also an AMAZON range).
 */
import { z } from 'zod';
import { networkOf, parseCidr, parseIp, type Cidr, type IpAddress } from '../net/ip';

const UMBRELLA = 'AMAZON';

const schema = z.object({
  prefixes: z.array(z.object({ ip_prefix: z.string(), service: z.string(), region: z.string().optional() })),
  ipv6_prefixes: z.array(z.object({ ipv6_prefix: z.string(), service: z.string(), region: z.string().optional() })).optional(),
});

export class CloudRanges {
  /** Per prefix length: network text -> services. */
  private readonly byLength = new Map<number, Map<string, string[]>>();
  private readonly lengths: number[];

  constructor(ranges: readonly { cidr: Cidr; service: string }[]) {
    for (const { cidr, service } of ranges) {
      const key = cidr.family === 4 ? cidr.prefix : 32 + cidr.prefix;
      const table = this.byLength.get(key) ?? new Map<string, string[]>();
      const services = table.get(cidr.network.text) ?? [];
      services.push(service);
      table.set(cidr.network.text, services);
      this.byLength.set(key, table);
    }
    this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
  }

  get size(): number {
    let n = 0;
    for (const t of this.byLength.values()) {
      n += t.size;
    }
    return n;
  }

  /** The service an address belongs to, or undefined when it is in no range. */
  serviceOf(address: string | IpAddress): string | undefined {
    const ip = typeof address === 'string' ? parseIp(address) : address;
    if (!ip) {
      return undefined;
    }
    let umbrella: string | undefined;
    for (const key of this.lengths) {
      const isV6Key = key > 32;
      if ((ip.family === 6) !== isV6Key) {
        continue;
      }
      const prefix = isV6Key ? key - 32 : key;
      const services = this.byLength.get(key)!.get(networkOf(ip, prefix).text);
      if (services) {
        const specific = services.find((s) => s !== UMBRELLA);
        if (specific) {
          return specific;
        }
        umbrella ??= UMBRELLA;
      }
    }
    return umbrella;
  }
}

export type CloudRangesParse = { ok: true; ranges: CloudRanges } | { ok: false; error: string };

/** Parses ip-ranges.json text; errors name the file and the offending entry. */
export function parseAwsIpRanges(text: string, file: string): CloudRangesParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${file}: not JSON: ${(e as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${file}: not in the ip-ranges.json format: ${issue.path.join('.')}: ${issue.message}` };
  }
  const ranges: { cidr: Cidr; service: string }[] = [];
  const entries = [
    ...parsed.data.prefixes.map((p, i) => ({ text: p.ip_prefix, service: p.service, where: `prefixes[${i}]` })),
    ...(parsed.data.ipv6_prefixes ?? []).map((p, i) => ({ text: p.ipv6_prefix, service: p.service, where: `ipv6_prefixes[${i}]` })),
  ];
  for (const e of entries) {
    const cidr = parseCidr(e.text);
    if (!cidr.ok) {
      return { ok: false, error: `${file}: ${e.where}: ${cidr.error}` };
    }
    ranges.push({ cidr: cidr.cidr, service: e.service });
  }
  return { ok: true, ranges: new CloudRanges(ranges) };
}
