import { strict as assert } from 'node:assert';
import { cidrContains, cidrStrictlyContains, parseCidr, parseIp, type Cidr } from '../../../src/core/net/ip';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.error}`);
  return parsed.cidr;
}

suite('ip', () => {
  test('parses IPv4 and IPv6, canonicalising IPv6', () => {
    assert.equal(parseIp('198.18.0.5')?.v4, (198 * 2 ** 24 + 18 * 2 ** 16 + 5) >>> 0);
    assert.equal(parseIp('2001:DB8:0:0::1')?.text, '2001:db8::1');
    assert.equal(parseIp('255.255.255.255')?.v4, 0xffffffff);
  });

  test('rejects what Kubernetes strict validation rejects', () => {
    for (const bad of ['010.1.2.3', '1.2.3', '1.2.3.256', 'fe80::1%eth0', '', 'example.com', '1.2.3.4/32', ' 1.2.3.4']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  test('CIDR containment, IPv4 and IPv6, including /0 and /32', () => {
    assert.ok(cidrContains(cidr('198.18.0.0/16'), parseIp('198.18.255.1')!));
    assert.ok(!cidrContains(cidr('198.18.0.0/16'), parseIp('198.19.0.1')!));
    assert.ok(cidrContains(cidr('0.0.0.0/0'), parseIp('203.0.113.9')!));
    assert.ok(cidrContains(cidr('198.51.100.7/32'), parseIp('198.51.100.7')!));
    assert.ok(!cidrContains(cidr('198.51.100.7/32'), parseIp('198.51.100.8')!));
    assert.ok(cidrContains(cidr('2001:db8::/32'), parseIp('2001:db8:ffff::1')!));
    assert.ok(!cidrContains(cidr('2001:db8::/33'), parseIp('2001:db8:8000::1')!));
    assert.ok(cidrContains(cidr('::/0'), parseIp('2001:db8::1')!));
    assert.ok(!cidrContains(cidr('0.0.0.0/0'), parseIp('2001:db8::1')!), 'families never match each other');
    assert.ok(!cidrContains(cidr('::/0'), parseIp('198.18.0.1')!));
  });

  test('invalid CIDRs get specific messages', () => {
    const error = (text: string) => {
      const parsed = parseCidr(text);
      assert.ok(!parsed.ok, text);
      return parsed.error;
    };
    assert.match(error('10.0.0.1/24'), /host bits set.*10\.0\.0\.0\/24/);
    assert.match(error('10.0.0.0/33'), /prefix length must be 0 to 32/);
    assert.match(error('2001:db8::/129'), /0 to 128/);
    assert.match(error('10.0.0.0'), /no prefix length.*10\.0\.0\.0\/32/);
    assert.match(error('10.0.0.0/08'), /prefix length/);
    assert.match(error('300.0.0.0/8'), /not an IP address/);
  });

  test('strict subsets for ipBlock.except', () => {
    assert.ok(cidrStrictlyContains(cidr('198.18.0.0/16'), cidr('198.18.1.0/24')));
    assert.ok(!cidrStrictlyContains(cidr('198.18.0.0/16'), cidr('198.18.0.0/16')), 'equal is not a strict subset');
    assert.ok(!cidrStrictlyContains(cidr('198.18.0.0/16'), cidr('198.19.0.0/24')));
    assert.ok(!cidrStrictlyContains(cidr('198.18.0.0/16'), cidr('2001:db8::/64')));
  });
});
