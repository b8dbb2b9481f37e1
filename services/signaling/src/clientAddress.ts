/**
 * The browser's address behind trusted proxies: X-Forwarded-For walked from the connection's own
 * address back through the proxies SIGNALING_TRUST_PROXY lists (proxy-addr, as the gateway's
 * Fastify does), so a client cannot name its own address by sending the header itself.
 */
import proxyAddr from '@fastify/proxy-addr';

export type TrustProxy = (address: string, hop: number) => boolean;

export function trustProxy(list: string[]): TrustProxy {
  return proxyAddr.compile(list);
}

/** Longer forwarded chains than this are not walked (the direct address is used). */
const MAX_HEADER = 1024;

export function clientAddress(
  address: string,
  forwardedFor: string | string[] | undefined,
  trust: TrustProxy,
): string {
  const header =
    typeof forwardedFor === 'string' && forwardedFor.length <= MAX_HEADER ? forwardedFor : undefined;
  const request = {
    headers: header === undefined ? {} : { 'x-forwarded-for': header },
    socket: { remoteAddress: address },
    connection: { remoteAddress: address },
  };
  return proxyAddr(request as never, trust).replace(/^::ffff:(?=\d+\.)/, '');
}
