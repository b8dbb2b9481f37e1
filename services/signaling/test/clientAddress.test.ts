/**
 * Whose X-Forwarded-For signaling believes (a guest's address keys its socket cap, rate limits and
 * removals): only hops SIGNALING_TRUST_PROXY lists, walked from the connection's own address, the
 * same rule (proxy-addr) as the gateway's. A bad list is a start-up error, not a silent default.
 */
import { describe, expect, it } from 'vitest';
import { TEST_SERVICE_SECRET } from '@switchboard/testing';
import { clientAddress, trustProxy } from '../src/clientAddress';
import { parseConfig } from '@switchboard/config';
import { configSchema } from '../src/config';

const env = (extra: Record<string, string>) => ({
  JWT_SECRET: 'a-test-jwt-secret-0123456789abcdef',
  SERVICE_SECRET: TEST_SERVICE_SECRET,
  ...extra,
});

describe('the client address behind proxies', () => {
  const nginx = trustProxy(['loopback', 'uniquelocal']);

  it('believes X-Forwarded-For only from a listed proxy', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.7', nginx)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:10.0.0.3', '198.51.100.7', nginx)).toBe('198.51.100.7');
    // A client connecting directly names nobody but itself.
    expect(clientAddress('203.0.113.9', '198.51.100.7', nginx)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:203.0.113.9', '10.1.1.1', nginx)).toBe('203.0.113.9');
    expect(clientAddress('2001:db8::5', '198.51.100.7', nginx)).toBe('2001:db8::5');
    // The walk stops at the first untrusted hop: what a client put before it is not believed.
    expect(clientAddress('127.0.0.1', '1.2.3.4, 198.51.100.7', nginx)).toBe('198.51.100.7');
    // No header, an array (repeated header) or an absurd one: the connection's own address.
    expect(clientAddress('127.0.0.1', undefined, nginx)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', ['1.1.1.1', '2.2.2.2'], nginx)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '9.9.9.9,'.repeat(200), nginx)).toBe('127.0.0.1');
  });

  it('believes nobody with an empty list, and only the listed ones otherwise', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.7', trustProxy([]))).toBe('127.0.0.1');
    const one = trustProxy(['192.0.2.10']);
    expect(clientAddress('192.0.2.10', '198.51.100.7', one)).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.3', '198.51.100.7', one)).toBe('10.0.0.3');
  });

  it('reads SIGNALING_TRUST_PROXY as a proxy list and refuses one it cannot read', () => {
    const proxies = (value?: string) =>
      parseConfig(configSchema, env(value === undefined ? {} : { SIGNALING_TRUST_PROXY: value }))
        .SIGNALING_TRUST_PROXY;
    expect(proxies()).toEqual(['loopback', 'uniquelocal']);
    expect(proxies(' 10.0.0.0/8 , loopback ')).toEqual(['10.0.0.0/8', 'loopback']);
    expect(proxies('none')).toEqual([]);
    expect(proxies('')).toEqual([]);
    for (const bad of ['true', 'nginx.internal', '10.0.0.0/99']) {
      expect(() => proxies(bad), bad).toThrow(/SIGNALING_TRUST_PROXY: not a proxy list/);
    }
  });
});
