/**
 * Where the `http` source's redirects may lead. The URLs of a list file are the user's own and may point anywhere;
 * a redirect is the server's choice, so by default it must not reach the worker's own networks (cloud metadata
 * services, admin ports, databases: loopback, private, link-local, shared and unspecified addresses) nor downgrade
 * https to http. A host name is checked on the addresses the connection actually dials, through a `lookup` hook,
 * so a second DNS answer cannot differ from the checked one. Through a proxy the worker dials only the proxy, so
 * there the Location's host is resolved here and checked before the request.
 */
import { BlockList, isIP, type LookupFunction } from 'node:net';
import dns, { type LookupAddress } from 'node:dns';

/** Address ranges a redirect may not reach, by the name a refusal gives them. */
const RESTRICTED: Record<string, readonly [string, number][]> = {
  loopback: [['127.0.0.0', 8], ['::1', 128]],
  private: [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['fc00::', 7]],
  'link-local': [['169.254.0.0', 16], ['fe80::', 10]],
  // 100.64/10 is carrier-grade NAT space, and where Alibaba Cloud serves instance metadata (100.100.100.200).
  shared: [['100.64.0.0', 10]],
  unspecified: [['0.0.0.0', 8], ['::', 128]],
};

const BLOCKS = Object.entries(RESTRICTED).map(([kind, ranges]) => {
  const list = new BlockList();
  for (const [net, prefix] of ranges) list.addSubnet(net, prefix, isIP(net) === 6 ? 'ipv6' : 'ipv4');
  return { kind, list };
});

/** The restricted kind of an IP address (`loopback`, `private`, …), or undefined for a public one. IPv4-mapped IPv6 counts as IPv4. */
export function restrictedKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  return BLOCKS.find((b) => b.list.check(address, family === 6 ? 'ipv6' : 'ipv4'))?.kind;
}

/** Thrown by {@link guardedLookup} (and {@link checkResolvedHost}) when a host resolves to a restricted address. */
export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Why a redirect from `from` to `to` is refused before any connection — an https→http downgrade, or a restricted
 * IP literal (WHATWG URLs normalise `http://2130706433/` and the like to dotted form first) — else undefined.
 */
export function redirectRefusal(from: URL, to: URL): string | undefined {
  if (from.protocol === 'https:' && to.protocol === 'http:') return 'it downgrades https to http';
  const literal = to.hostname.replace(/^\[|\]$/g, '');
  const kind = restrictedKind(literal);
  return kind ? `${literal} is a ${kind} address` : undefined;
}

function refusalOfAddresses(hostname: string, addresses: readonly LookupAddress[]): string | undefined {
  for (const { address } of addresses) {
    const kind = restrictedKind(address);
    if (kind) return `${hostname} resolves to ${address}, a ${kind} address`;
  }
  return undefined;
}

/**
 * A `lookup` for connections to redirect targets: resolves like `dns.lookup`, and fails with
 * {@link AddressRefusedError} when any address of the host is restricted (the connection may try each of them).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const refusal = refusalOfAddresses(hostname, addresses);
    if (refusal) return callback(new AddressRefusedError(refusal), '', 0);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    return first ? callback(null, first.address, first.family) : callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
  });
};

/** For a request through a proxy: resolves `hostname` here and throws AddressRefusedError for a restricted address. */
export async function checkResolvedHost(hostname: string): Promise<void> {
  // An IP literal was judged with the URL (redirectRefusal).
  if (isIP(hostname.replace(/^\[|\]$/g, '')) !== 0) return;
  const refusal = refusalOfAddresses(hostname, await dns.promises.lookup(hostname, { all: true }));
  if (refusal) throw new AddressRefusedError(refusal);
}
