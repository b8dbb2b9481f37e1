/**
 * Which addresses a server-side request (a webhook delivery) may go to: not this host, the
 * private networks behind it, link-local (cloud metadata at 169.254.169.254), multicast or
 * reserved ranges, unless an operator allowed it for that endpoint. Checked on the addresses a
 * name resolves to, at registration and again on every connection (`guardedLookup`), so a name
 * that later resolves inward (DNS rebinding) is refused too.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const INTERNAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv6');
}

/** True for loopback, private, link-local, multicast and reserved addresses (IPv4 or IPv6). */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    return INTERNAL.check(address, 'ipv4');
  }
  if (family === 6) {
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) name an IPv4 host: judge that.
    const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (embedded) {
      return INTERNAL.check(embedded, 'ipv4');
    }
    return INTERNAL.check(address, 'ipv6');
  }
  return true; // not an address at all: refuse
}

/** The first internal address `hostname` resolves to, if any (every address is checked). */
export async function internalAddressOf(hostname: string): Promise<string | undefined> {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) {
    return isInternalAddress(bare) ? bare : undefined;
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(bare, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
  );
  return addresses.find((a) => isInternalAddress(a.address))?.address;
}

/** A `lookup` for http.request that fails when the name resolves to an internal address. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, '', 4);
      return;
    }
    const list = addresses as LookupAddress[];
    const inside = list.find((a) => isInternalAddress(a.address));
    if (inside) {
      callback(
        Object.assign(new Error(`${hostname} resolves to ${inside.address}, an internal address`), {
          code: 'EINTERNALADDRESS',
        }),
        '',
        4,
      );
      return;
    }
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    } else {
      callback(null, list[0].address, list[0].family);
    }
  });
};
