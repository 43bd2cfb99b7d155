/**
 * IP addresses and CIDR blocks, parsed once into a form that makes containment checks cheap:
 * IPv4 as an unsigned 32-bit number, IPv6 as 16 bytes. Parsing follows Kubernetes' strict
 * validation (no leading zeros in IPv4 octets, no IPv6 zones, CIDRs in subnet form).
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** Canonical text (IPv6 compressed, lowercase). */
  readonly text: string;
  /** IPv4 as an unsigned 32-bit integer; 0 for IPv6. */
  readonly v4: number;
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  readonly bytes: Uint8Array;
}

export interface Cidr {
  readonly family: IpFamily;
  readonly text: string;
  readonly prefix: number;
  /** Network address; host bits are zero. */
  readonly network: IpAddress;
  /** IPv4 netmask as an unsigned 32-bit integer; 0 for IPv6. */
  readonly mask4: number;
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.includes('%')) {
    return undefined;
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const bytes = Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
    return { family: 4, text, v4: toUint32(bytes), bytes };
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) {
    const addr = ipaddr.IPv6.parse(text);
    return { family: 6, text: addr.toString(), v4: 0, bytes: Uint8Array.from(addr.toByteArray()) };
  }
  return undefined;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; error: string };

/** Parses a CIDR such as 198.18.0.0/16 or 2001:db8::/32, rejecting host bits as Kubernetes' strict validation does. */
export function parseCidr(text: string): CidrParse {
  if (typeof text !== 'string' || text.length === 0) {
    return { ok: false, error: 'must be a CIDR such as 198.18.0.0/16' };
  }
  const slash = text.indexOf('/');
  if (slash < 0) {
    return { ok: false, error: `"${text}" has no prefix length (for a single address write ${text}/${text.includes(':') ? 128 : 32})` };
  }
  const ip = parseIp(text.slice(0, slash));
  if (!ip) {
    return { ok: false, error: `"${text}" is not a valid CIDR: "${text.slice(0, slash)}" is not an IP address` };
  }
  const prefixText = text.slice(slash + 1);
  const max = ip.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return { ok: false, error: `"${text}" is not a valid CIDR: prefix length must be 0 to ${max}` };
  }
  const prefix = Number(prefixText);
  const network = networkOf(ip, prefix);
  const canonical = `${network.text}/${prefix}`;
  if (!sameBytes(network.bytes, ip.bytes)) {
    return { ok: false, error: `"${text}" has host bits set after the prefix; the subnet is ${canonical}` };
  }
  return { ok: true, cidr: { family: ip.family, text: canonical, prefix, network, mask4: ip.family === 4 ? mask32(prefix) : 0 } };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) {
    return false;
  }
  if (ip.family === 4) {
    return ((ip.v4 & cidr.mask4) >>> 0) === cidr.network.v4;
  }
  return prefixEqual(cidr.network.bytes, ip.bytes, cidr.prefix);
}

/** True when `inner` lies inside `outer` and is strictly smaller (the rule for ipBlock.except). */
export function cidrStrictlyContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix > outer.prefix && cidrContains(outer, inner.network);
}

/** The network address of ip/prefix: the address with every bit after the prefix cleared. */
export function networkOf(ip: IpAddress, prefix: number): IpAddress {
  if (ip.family === 4) {
    const v4 = (ip.v4 & mask32(prefix)) >>> 0;
    const bytes = Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
    return { family: 4, text: Array.from(bytes).join('.'), v4, bytes };
  }
  const bytes = ip.bytes.slice();
  for (let bit = prefix; bit < 128; bit++) {
    bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  }
  return { family: 6, text: ipaddr.fromByteArray(Array.from(bytes)).toString(), v4: 0, bytes };
}

function mask32(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function toUint32(b: Uint8Array): number {
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

function prefixEqual(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) {
    if (a[i] !== b[i]) {
      return false;
    }
  }
  const rest = prefix & 7;
  if (rest === 0) {
    return true;
  }
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole] & mask) === (b[whole] & mask);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && prefixEqual(a, b, a.length * 8);
}
