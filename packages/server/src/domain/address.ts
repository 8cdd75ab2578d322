/**
 * The key a client address is counted under by the per-address limits. An IPv4 address is its
 * own key. An IPv6 address is keyed by its /64: a single host or home is usually given a whole
 * /64 and can pick any address in it, so counting per address would let it dodge every limit.
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports for an
 * IPv4 peer) is keyed as the IPv4 address it maps. Anything else is returned unchanged.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of a valid IPv6 address (no zone). */
function groupsOf(address: string): number[] {
  let text = address;
  const groups: number[] = [];
  // A trailing dotted IPv4 part stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let embedded: number[] = [];
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    embedded = [(a << 8) | b, (c << 8) | d];
    text = `${text.slice(0, lastColon + 1)}0`;
  }
  const [head = '', rest] = text.split('::', 2);
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  if (embedded.length > 0) {
    // The placeholder '0' stood for the IPv4 part: replace it by its two groups.
    (rest === undefined ? left : right).splice(-1, 1, ...embedded);
  }
  const missing = 8 - left.length - right.length;
  groups.push(...left, ...new Array<number>(rest === undefined ? 0 : missing).fill(0), ...right);
  return groups;
}

export function addressKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  const address = ip.split('%', 1)[0] ?? ip;
  if (!isIPv6(address)) return ip;
  const groups = groupsOf(address);
  if (groups.length !== 8) return ip;
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/**
 * The network an address belongs to, shortened for showing a person where a sign-in came
 * from without the exact address: an IPv4 /24 or an IPv6 /48. Null for anything else.
 */
export function networkOf(ip: string): string | null {
  const key = addressKey(ip);
  if (isIPv4(key)) return `${key.split('.').slice(0, 3).join('.')}.0/24`;
  if (!key.endsWith('::/64')) return null;
  return `${key.split(':').slice(0, 3).join(':')}::/48`;
}
