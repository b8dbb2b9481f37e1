/**
 * Consul with ACLs on, default deny (a real agent, configured as the native stack runs it): a
 * client without a token sees and registers nothing; each component's token registers only its
 * own service and reads only what it connects to.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionDeniedError } from '@switchboard/errors';
import { startConsul, type ConsulAgent } from '@switchboard/testing';
import { ConsulClient, createServiceTokens, type ConsulIdentity, type ServiceRegistration } from '../src';

const registration = (name: string, port: number): ServiceRegistration => ({
  id: `${name}-${port}`,
  name,
  address: '127.0.0.1',
  port,
  check: { tcp: `127.0.0.1:${port}`, interval: '10s' },
});

describe('Consul ACLs (real agent, default deny, a token per component)', () => {
  let consul: ConsulAgent;
  let tokens: Record<ConsulIdentity, string>;
  const as = (identity: ConsulIdentity | 'anonymous' | 'forged') =>
    new ConsulClient(consul.addr, {
      timeoutMs: 2000,
      token: identity === 'anonymous' ? undefined : identity === 'forged' ? randomUUID() : tokens[identity],
    });

  beforeAll(async () => {
    consul = await startConsul({ managementToken: randomUUID() });
    tokens = await createServiceTokens(consul.client);
    // What a running deployment has: one of each.
    for (const [i, name] of ['media', 'signaling', 'gateway', 'ui', 'log-viewer'].entries()) {
      await consul.client.register(registration(name, 41000 + i));
    }
  }, 60_000);

  afterAll(async () => {
    await consul?.close();
  });

  it('shows nothing and registers nothing without a token (or with a made-up one)', async () => {
    for (const who of ['anonymous', 'forged'] as const) {
      const client = as(who);
      if (who === 'anonymous') {
        expect(await client.instances('gateway')).toEqual([]);
        expect(await client.services()).toEqual([]);
      } else {
        await expect(client.instances('gateway')).rejects.toThrow(/ACL not found|permission denied/i);
      }
      await expect(client.register(registration('gateway', 41999))).rejects.toBeInstanceOf(
        PermissionDeniedError,
      );
      await expect(client.deregister('media-41000')).rejects.toBeInstanceOf(PermissionDeniedError);
    }
    await expect(as('anonymous').register(registration('gateway', 41999))).rejects.toThrow(
      /set CONSUL_HTTP_TOKEN/,
    );
    expect((await consul.client.instances('gateway')).map((i) => i.id)).toEqual(['gateway-41002']);
  });

  it('lets each service register itself and no other, and read only what it connects to', async () => {
    const writers: ConsulIdentity[] = ['media', 'signaling', 'gateway', 'ui', 'log-viewer'];
    for (const identity of writers) {
      const client = as(identity);
      await client.register(registration(identity, 42000));
      await client.deregister(`${identity}-42000`);
      for (const other of writers.filter((name) => name !== identity)) {
        await expect(
          client.register(registration(other, 42001)),
          `${identity} as ${other}`,
        ).rejects.toBeInstanceOf(PermissionDeniedError);
      }
      // Nobody takes another's instance out of rotation.
      const victim = writers.find((name) => name !== identity)!;
      await expect(client.deregister(`${victim}-${41000 + writers.indexOf(victim)}`)).rejects.toBeInstanceOf(
        PermissionDeniedError,
      );
    }
    const sees = async (identity: ConsulIdentity) => {
      const seen: string[] = [];
      for (const name of writers) {
        if ((await as(identity).instances(name)).length > 0) {
          seen.push(name);
        }
      }
      return seen;
    };
    expect(await sees('media')).toEqual(['media']);
    expect(await sees('signaling')).toEqual(['media', 'signaling']);
    expect(await sees('gateway')).toEqual(writers);
    expect(await sees('ui')).toEqual(['ui']);
    expect(await sees('nginx')).toEqual(['signaling', 'gateway', 'ui', 'log-viewer']);
    expect(await sees('prometheus')).toEqual(writers);
    // NGINX and Prometheus only read.
    for (const reader of ['nginx', 'prometheus'] as const) {
      await expect(as(reader).register(registration('ui', 42002))).rejects.toBeInstanceOf(
        PermissionDeniedError,
      );
    }
    // Every registration is still there.
    for (const name of writers) {
      expect(await consul.client.instances(name), name).toHaveLength(1);
    }
  });
});
