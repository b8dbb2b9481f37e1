/**
 * Consul with ACLs on, default deny (a real agent, configured as the native stack runs it): a
 * client without a token sees and registers nothing; each component's token registers only its
 * own service and reads only what it connects to.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionDeniedError } from '@switchboard/errors';
import { REPO_ROOT, startConsul, type ConsulAgent } from '@switchboard/testing';
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
  const management = randomUUID();
  const as = (identity: ConsulIdentity | 'anonymous' | 'forged') =>
    new ConsulClient(consul.addr, {
      timeoutMs: 2000,
      token: identity === 'anonymous' ? undefined : identity === 'forged' ? randomUUID() : tokens[identity],
    });

  beforeAll(async () => {
    consul = await startConsul({ managementToken: management });
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

  it('gives each token the secret the operator chose (Compose), and updates it on a second run', async () => {
    const chosen = { media: randomUUID(), nginx: randomUUID() };
    const first = await createServiceTokens(consul.client, ['media', 'nginx'], chosen);
    expect(first).toEqual(chosen);
    const again = await createServiceTokens(consul.client, ['media', 'nginx'], chosen);
    expect(again).toEqual(chosen);
    const media = new ConsulClient(consul.addr, { timeoutMs: 2000, token: chosen.media });
    await media.register(registration('media', 43000));
    await media.deregister('media-43000');
    await expect(media.register(registration('gateway', 43001))).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    // One token per secret, not one per run.
    const list = (await (
      await fetch(`http://${consul.addr}/v1/acl/tokens`, { headers: { 'x-consul-token': management } })
    ).json()) as { Description: string }[];
    expect(list.filter((t) => t.Description === 'switchboard media').length).toBe(2); // beforeAll's and this one
  });

  it("sets up Compose's tokens with consul/acl-setup.ts, and refuses a secret that is not a UUID", async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      CONSUL_HTTP_ADDR: consul.addr,
      CONSUL_MANAGEMENT_TOKEN: management,
    };
    for (const variable of [
      'MEDIA',
      'SIGNALING',
      'GATEWAY',
      'UI',
      'LOG_VIEWER',
      'EVENTS',
      'NGINX',
      'PROMETHEUS',
    ]) {
      env[`CONSUL_TOKEN_${variable}`] = randomUUID();
    }
    const run = (extra: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'consul/acl-setup.ts')], {
        env: { ...env, ...extra },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const bad = run({ CONSUL_TOKEN_UI: 'ui-secret' });
    expect(bad.status).toBe(78);
    expect(bad.stderr).toMatch(/CONSUL_TOKEN_UI must be a UUID/);
    const ok = run({});
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const ui = new ConsulClient(consul.addr, { timeoutMs: 2000, token: env.CONSUL_TOKEN_UI });
    await ui.register(registration('ui', 43002));
    await ui.deregister('ui-43002');
    await expect(ui.register(registration('media', 43003))).rejects.toBeInstanceOf(PermissionDeniedError);
  }, 90_000);
});
