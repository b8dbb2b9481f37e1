/**
 * Integration: one client's events are limited over all its sockets on every signaling instance
 * (two instances, real Redis, Consul, Postgres and media node). Guests count by their address
 * (X-Forwarded-For from a trusted proxy, as NGINX sends it): two sockets from one address on two
 * instances share one budget, and are refused together once it is spent; another address is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { ensureRoom, randomAddress, testGrants, uniqueRoom } from '@switchboard/testing';
import { signJoinToken } from '@switchboard/auth';
import { request, type Answer, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'client-budget-test-secret-0123456789';
const PER_CLIENT = 60;

describe("a client's event budget across signaling instances (real Redis, two instances)", () => {
  let h: Harness;
  const sockets: Client[] = [];

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      signalingInstances: 2,
      signalingEnv: {
        SIGNALING_CLIENT_EVENTS_PER_10S: String(PER_CLIENT),
        SIGNALING_SOCKET_EVENTS_PER_10S: '1000',
      },
    });
  }, 120_000);

  afterAll(async () => {
    sockets.forEach((socket) => socket.disconnect());
    await h?.close();
  });

  /** A guest's socket to instance `instance`, as a browser at `address` behind NGINX. */
  async function guest(room: string, address: string, instance: number): Promise<Client> {
    const { token } = await signJoinToken(testGrants(room, `Guest ${address}`), SECRET, 60);
    const socket: Client = io(`http://127.0.0.1:${h.signaling[instance]!.port}`, {
      auth: { token },
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { 'x-forwarded-for': address },
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  }

  const burst = (socket: Client, n: number): Promise<Answer[]> =>
    Promise.all(Array.from({ length: n }, () => request(socket, 'getRouterRtpCapabilities', {})));

  it('refuses one address on both instances once its shared budget is spent; another address is served', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('budget'));
    const office = randomAddress();
    const onOne = await guest(room, office, 0);
    const onTwo = await guest(room, office, 1);
    const elsewhere = await guest(room, randomAddress(), 0);

    const answers = (await Promise.all([burst(onOne, 50), burst(onTwo, 50)])).flat();
    const served = answers.filter((a) => a.ok).length;
    // The budget is shared: both sockets together get it once (a lease of one point: all of it).
    expect(served).toBe(PER_CLIENT);
    const refused = answers.filter((a) => !a.ok);
    expect(refused.length).toBe(100 - PER_CLIENT);
    for (const answer of refused) {
      expect(answer).toMatchObject({
        ok: false,
        error: { code: 'RESOURCE_EXHAUSTED', message: 'you send too many requests; slow down' },
      });
      expect((answer as { error: { retryAfterSeconds: number } }).error.retryAfterSeconds).toBeGreaterThan(0);
    }
    // Spent for both instances, not per instance.
    expect(await request(onOne, 'getRouterRtpCapabilities', {})).toMatchObject({ ok: false });
    expect(await request(onTwo, 'getRouterRtpCapabilities', {})).toMatchObject({ ok: false });

    // Another address has its own budget; the refused sockets are limited, not dropped.
    expect((await burst(elsewhere, 20)).every((a) => a.ok)).toBe(true);
    expect(onOne.connected && onTwo.connected).toBe(true);
  });
});
