/**
 * TURN credentials with join tokens, against a real coturn (`use-auth-secret`) registered in a
 * real Consul: the gateway hands out the passing TURN servers with credentials that coturn
 * accepts (a WebRTC peer gets a relay candidate with them, and none with a forged one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, ensureDatabase, type Pool } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
import type { IceServer } from '@switchboard/protocol';
import {
  ApiClient,
  ensureRoom,
  freePort,
  randomAddress,
  startConsul,
  testDatabaseUrl,
  uniqueRoom,
  type ConsulAgent,
} from '@switchboard/testing';
import { parseConfig } from '@switchboard/config';
import { configSchema } from '../src/config';
import { coturnArgs } from '../../../scripts/coturn';
import { Gateway } from '../src/Gateway';
import { testGatewayConfig } from './testConfig';

const SECRET = 'turn-test-jwt-secret-0123456789';
const TURN_SECRET = 'turn-test-static-auth-secret-0123';
const quiet = createLogger({ service: 'gateway', level: 'warn' }).logger;

/** The relay candidates a relay-only peer connection gathers with these ICE servers. */
async function relayCandidates(iceServers: IceServer[]): Promise<string[]> {
  const pc = new wrtc.RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
  const found: string[] = [];
  try {
    const done = new Promise<void>((resolve) => {
      pc.onicecandidate = ({ candidate }) => (candidate ? found.push(candidate.candidate) : resolve());
      setTimeout(resolve, 8000);
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await done;
  } finally {
    pc.close();
  }
  return found.filter((c) => c.includes(' typ relay'));
}

describe('TURN credentials (real coturn, real Consul)', () => {
  let consul: ConsulAgent;
  let coturn: ChildProcess;
  let dir: string;
  let turnPort: number;
  let pool: Pool;
  const gateways: Gateway[] = [];

  const gateway = async (extra: Record<string, string>) => {
    const created = await Gateway.create(testGatewayConfig(consul.addr, SECRET, extra), quiet);
    gateways.push(created);
    return new ApiClient(`http://127.0.0.1:${created.port}`, { address: randomAddress() });
  };

  const guestToken = async (api: ApiClient) => {
    const room = await ensureRoom(pool, uniqueRoom('turn'));
    const answer = await api.json<{ iceServers: IceServer[] }>('POST', `/api/rooms/${room}/tokens`, {
      displayName: 'Guest',
    });
    expect(answer.status).toBe(201);
    return answer.body;
  };

  beforeAll(async () => {
    consul = await startConsul();
    await ensureDatabase(testDatabaseUrl());
    pool = createPool(testDatabaseUrl());
    dir = mkdtempSync(join(tmpdir(), 'sb-turn-'));
    turnPort = await freePort();
    const relayMin = await freePort();
    coturn = spawn(
      '/usr/bin/turnserver',
      coturnArgs({
        host: '127.0.0.1',
        port: turnPort,
        relayMin,
        relayMax: relayMin + 20,
        secret: TURN_SECRET,
        peer: '127.0.0.1',
        dir,
      }),
      { stdio: 'ignore' },
    );
    await consul.client.register({
      id: 'turn-test',
      name: 'turn',
      address: '127.0.0.1',
      port: turnPort,
      check: { tcp: `127.0.0.1:${turnPort}`, interval: '1s' },
    });
    await consul.passing('turn');
  });

  afterAll(async () => {
    for (const g of gateways) {
      await g.close();
    }
    coturn?.kill('SIGKILL');
    await consul?.close();
    await pool?.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out the passing TURN servers with credentials coturn accepts', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { iceServers } = await guestToken(
      await gateway({ TURN_SECRET, TURN_CREDENTIAL_TTL_SECONDS: '600' }),
    );
    expect(iceServers).toHaveLength(1);
    const [server] = iceServers;
    expect(server.urls).toEqual([
      `turn:127.0.0.1:${turnPort}?transport=udp`,
      `turn:127.0.0.1:${turnPort}?transport=tcp`,
    ]);
    const [expiry, ...subject] = server.username.split(':');
    expect(Number(expiry) - before).toBeGreaterThanOrEqual(600);
    expect(Number(expiry) - before).toBeLessThan(600 + 30);
    expect(subject.join(':')).toMatch(/^guest:/);

    expect(await relayCandidates(iceServers)).not.toEqual([]);
    const forged = [{ ...server, credential: Buffer.from('not the right hmac').toString('base64') }];
    expect(await relayCandidates(forged)).toEqual([]);
  });

  it('hands out no TURN server without a secret', async () => {
    const { iceServers } = await guestToken(await gateway({}));
    expect(iceServers).toEqual([]);
  });

  it('refuses a TURN secret too short to be one, and treats an empty one as none', () => {
    expect(() => parseConfig(configSchema, { JWT_SECRET: SECRET, TURN_SECRET: 'short' })).toThrow(
      /TURN_SECRET: must be at least 16 characters/,
    );
    expect(parseConfig(configSchema, { JWT_SECRET: SECRET, TURN_SECRET: '' }).TURN_SECRET).toBeUndefined();
  });
});
