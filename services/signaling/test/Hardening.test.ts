/**
 * Integration: what an attacker holding a meeting link tries, against the real components (two
 * media nodes with real mediasoup workers, signaling, the gateway, Consul, Redis, Postgres). Each
 * test fails on the code before issue 13: one identity is one participant however many sockets it
 * opens, an address holds a bounded number of sockets, consumer tricks cannot fill a node, rooms
 * open only for people let in, lobbies are bounded, expire and forget crashed instances' waiters,
 * a lobby guest's token reads no chat, and removals and mute locks follow the identity.
 */
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@switchboard/logger';
import { ApiClient, freePort, newAccount, randomAddress, waitFor } from '@switchboard/testing';
import { Gateway } from '../../gateway/src/Gateway';
import { testGatewayConfig } from '../../gateway/test/testConfig';
import { data, join, joined, next, produceMedia, record, request, type Answer, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'hardening-test-secret-0123456789';
const SOCKETS_PER_ADDRESS = 45;
const LOBBY_MAX = 3;
const CAPACITY = 3; // consumers per worker (one worker per node)

describe('a meeting link in an attacker’s hands (real media nodes, signaling, gateway)', () => {
  let h: Harness;
  let gateway: Gateway;
  let api: string;
  const sockets: Client[] = [];
  /** The callEnded notices each socket received. */
  const endings = new Map<Client, { reason: string; final?: boolean }[]>();

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      mediaNodes: 2,
      mediaEnv: { MEDIA_MAX_CONSUMERS_PER_WORKER: String(CAPACITY) },
      signalingEnv: {
        SIGNALING_SOCKETS_PER_ADDRESS: String(SOCKETS_PER_ADDRESS),
        SIGNALING_LOBBY_MAX: String(LOBBY_MAX),
        SIGNALING_HEARTBEAT_MS: '300',
        SIGNALING_CLIENT_EVENTS_PER_10S: '100000',
      },
    });
    const quiet = createLogger({ service: 'gateway', level: 'warn', stdout: false }).logger;
    gateway = await Gateway.create(testGatewayConfig(h.consul.addr, SECRET), quiet);
    api = `http://127.0.0.1:${gateway.port}`;
  }, 120_000);

  afterAll(async () => {
    for (const socket of sockets) {
      socket.disconnect();
    }
    await gateway?.close();
    await h?.close();
  });

  /** A socket to `port` (the first instance's unless told) as a browser at `address` behind NGINX. */
  function connect(token: string, address: string, port = h.signaling[0].port): Promise<Client> {
    const socket: Client = io(`http://127.0.0.1:${port}`, {
      auth: { token },
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { 'x-forwarded-for': address },
    });
    sockets.push(socket);
    // From the start: a socket replaced right away hears why before anyone could listen.
    endings.set(socket, record(socket, 'callEnded'));
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (error) => reject(error));
    });
  }

  /** A signed-in owner's new room (through the gateway), and the owner's API client. */
  async function ownedRoom(policy: 'open' | 'lobby' = 'open') {
    const owner = new ApiClient(api, { address: randomAddress() });
    expect((await owner.request('POST', '/api/auth/register', newAccount('Owner'))).status).toBe(201);
    const { body: room } = await owner.json<{ id: string }>('POST', '/api/rooms', { policy });
    return { owner, room: room.id };
  }

  /** A join token from the gateway's token route, for `client` (a guest unless signed in). */
  async function tokenFor(client: ApiClient, room: string, displayName = 'Guest'): Promise<string> {
    const issued = await client.json<{ token: string; message?: string }>(
      'POST',
      `/api/rooms/${room}/tokens`,
      {
        displayName,
      },
    );
    expect(issued.status, issued.body.message).toBe(201);
    return issued.body.token;
  }

  /** A guest at `address` (a new one unless given): a gateway token and a socket, as its browser. */
  async function guest(room: string, name: string, at: { address?: string; port?: number } = {}) {
    const address = at.address ?? randomAddress();
    return connect(await tokenFor(new ApiClient(api, { address }), room, name), address, at.port);
  }

  /** The peers presence holds for the room, by identity. */
  async function participantsBySub(room: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const value of Object.values(await h.redis.hgetall(`sb:room:${room}:peers`))) {
      const { sub } = JSON.parse(value) as { sub: string };
      counts.set(sub, (counts.get(sub) ?? 0) + 1);
    }
    return counts;
  }

  const transports = () => h.media.reduce((sum, node) => sum + node.load().transports, 0);

  it('holds one participant per join token however many sockets it opens, and the node keeps serving', async () => {
    const { owner, room } = await ownedRoom();
    const address = randomAddress();
    const guest = new ApiClient(api, { address });
    const token = await tokenFor(guest, room, 'Forty');
    const sub = (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string }).sub;

    // Watch presence the whole time: the identity is never two participants, not even briefly.
    let most = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        most = Math.max(most, (await participantsBySub(room)).get(sub) ?? 0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const transportsBefore = transports();
    // Forty sockets, 40 ms apart, each joining and opening its two transports as
    // soon as it is in (a replaced socket's requests go unanswered: it is closed).
    const gone = (socket: Client) =>
      new Promise<undefined>((resolve) =>
        socket.connected ? socket.once('disconnect', () => resolve(undefined)) : resolve(undefined),
      );
    let joinedAtAll = 0;
    const forty = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 40));
        const socket = await connect(token, address);
        const closed = gone(socket);
        const attempt = (event: 'createWebRtcTransport', payload: object) =>
          Promise.race([request(socket, event, payload), closed]);
        if ((await Promise.race([join(socket), closed]))?.ok) {
          joinedAtAll++;
          await attempt('createWebRtcTransport', { producing: true });
          await attempt('createWebRtcTransport', { producing: false });
        }
        return socket;
      }),
    );
    // Many got in before the next replaced them: the race was run, not avoided.
    expect(joinedAtAll).toBeGreaterThan(1);
    await waitFor(() => forty.filter((s) => s.connected).length === 1, {
      what: 'all but the newest socket closed',
    });
    watching = false;
    await watcher;
    expect(most, 'participants of one identity at any time').toBe(1);
    expect((await participantsBySub(room)).get(sub)).toBe(1);
    for (const socket of forty.filter((s) => !s.connected)) {
      expect(endings.get(socket)).toEqual([
        { reason: expect.stringMatching(/another tab or device/) as string, final: true },
      ]);
    }
    // The survivor's transports at most, however many the others opened before they were closed.
    await waitFor(() => transports() - transportsBefore <= 2, {
      what: 'replaced sockets’ transports closed',
    });

    // The node serves the others as before.
    const host = await connect(await tokenFor(owner, room, 'Host'), randomAddress());
    await joined(host);
    data(await request(host, 'createWebRtcTransport', { producing: true }));
    // The survivor is the participant: joined, and the host sees it.
    const survivor = forty.find((s) => s.connected)!;
    expect(await join(survivor)).toMatchObject({ ok: false, error: { message: 'already joined' } });
  });

  it('caps the sockets one address holds, while other addresses connect', async () => {
    const { room } = await ownedRoom();
    const crowded = randomAddress();
    const outcomes = await Promise.allSettled(
      Array.from({ length: SOCKETS_PER_ADDRESS + 5 }, async (_, i) =>
        guest(room, `Crowd ${i}`, { address: crowded }),
      ),
    );
    const open = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
    const refused = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => o.reason as { data?: unknown });
    expect(open).toHaveLength(SOCKETS_PER_ADDRESS);
    expect(refused).toHaveLength(5);
    for (const error of refused) {
      expect(error.data).toMatchObject({
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringMatching(/too many connections/),
      });
    }
    await guest(room, 'Elsewhere');
    // Closing sockets frees their places.
    for (const socket of open.slice(0, 2)) {
      socket.disconnect();
    }
    await waitFor(
      async () =>
        guest(room, 'Later', { address: crowded }).then(
          () => true,
          () => false,
        ),
      { what: 'a place freed for the crowded address' },
    );
  });

  it('keeps every media node accepting while one peer tries every consumer trick', async () => {
    const { owner, room } = await ownedRoom();
    const sender = await connect(await tokenFor(owner, room, 'Sender'), randomAddress());
    await joined(sender);
    const { video, audio } = await produceMedia(sender);
    // Three attackers (three tokens, so three identities), each consuming what it can.
    for (let a = 0; a < 3; a++) {
      const attacker = await guest(room, `Greedy ${a}`);
      await joined(attacker);
      const { audio: own } = await produceMedia(attacker);
      const recv = data<{ id: string; consumers: { producerId: string }[] }>(
        await request(attacker, 'createWebRtcTransport', { producing: false, consumeExisting: true }),
      );
      expect(recv.consumers.map((c) => c.producerId).sort()).toEqual(
        expect.arrayContaining([video, audio].sort()),
      );
      // The same producer a hundred times at once, and its own producer.
      const again = await Promise.all(
        Array.from({ length: 100 }, () =>
          request(attacker, 'consume', { transportId: recv.id, producerId: video }),
        ),
      );
      expect(again.filter((answer) => answer.ok)).toHaveLength(0);
      expect(new Set(again.map((answer) => !answer.ok && answer.error.code))).toEqual(
        new Set(['ALREADY_EXISTS']),
      );
      expect(await request(attacker, 'consume', { transportId: recv.id, producerId: own })).toMatchObject({
        ok: false,
        error: { code: 'FAILED_PRECONDITION' },
      });
    }
    // Paused consumers forward nothing: no node counts them, every node takes new meetings.
    for (const node of h.media) {
      expect(node.load()).toMatchObject({ consumers: 0, accepting: true });
    }
    for (let i = 0; i < 4; i++) {
      const other = await ownedRoom();
      const host = await connect(await tokenFor(other.owner, other.room, 'Newcomer'), randomAddress());
      await joined(host);
    }
  });

  it('opens no room on a media node for people who only ask for capabilities or wait in the lobby', async () => {
    const rooms = () => h.media.reduce((sum, node) => sum + node.roomCount, 0);
    const before = rooms();
    const { room } = await ownedRoom('lobby');
    for (let i = 0; i < LOBBY_MAX; i++) {
      const waiter = await guest(room, `Waiter ${i}`);
      expect(data(await request(waiter, 'getRouterRtpCapabilities', {}))).toHaveProperty('rtpCapabilities');
      expect(await join(waiter)).toMatchObject({ ok: true, data: { status: 'lobby' } });
    }
    expect(rooms()).toBe(before);
    // The lobby is full: the next one is told so, not queued without end.
    const extra = await guest(room, 'One too many');
    expect(await join(extra)).toMatchObject({
      ok: false,
      error: { code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/lobby of this meeting is full/) },
    });
  });

  it('lets a lobby guest’s token read no chat, waiting or refused; once admitted, it reads', async () => {
    const { owner, room } = await ownedRoom('lobby');
    const host = await connect(await tokenFor(owner, room, 'Host'), randomAddress());
    await joined(host);
    data(await request(host, 'chatSend', { clientId: randomUUID(), body: 'the plan for the launch' }));
    const reads = async (token: string) => {
      const reader = new ApiClient(api, { address: randomAddress() });
      const auth = { headers: { authorization: `Bearer ${token}` } };
      const history = await reader.json('GET', `/api/rooms/${room}/messages`, undefined, auth);
      const search = await reader.json('GET', `/api/rooms/${room}/messages/search?q=plan`, undefined, auth);
      return [history.status, search.status];
    };

    const refusedAddress = randomAddress();
    const refusedToken = await tokenFor(new ApiClient(api, { address: refusedAddress }), room, 'Refused');
    const refused = await connect(refusedToken, refusedAddress);
    const asked = next(host, 'lobbyRequest');
    expect(await join(refused)).toMatchObject({ ok: true, data: { status: 'lobby' } });
    expect(await reads(refusedToken)).toEqual([403, 403]);
    data(await request(host, 'deny', { peerId: (await asked).peerId }));
    expect(await reads(refusedToken)).toEqual([403, 403]);

    const welcomeAddress = randomAddress();
    const welcomeToken = await tokenFor(new ApiClient(api, { address: welcomeAddress }), room, 'Welcome');
    const welcome = await connect(welcomeToken, welcomeAddress);
    const asked2 = next(host, 'lobbyRequest');
    await join(welcome);
    expect(await reads(welcomeToken)).toEqual([403, 403]);
    const admitted = next(welcome, 'admitted');
    data(await request(host, 'admit', { peerId: (await asked2).peerId }));
    await admitted;
    expect(await reads(welcomeToken)).toEqual([200, 200]);
  });

  it('keeps a removed guest out when they take a new guest token, and a removed account out as a guest', async () => {
    const { owner, room } = await ownedRoom();
    const host = await connect(await tokenFor(owner, room, 'Host'), randomAddress());
    await joined(host);

    const guestAddress = randomAddress();
    const guestApi = new ApiClient(api, { address: guestAddress });
    const removed = await connect(await tokenFor(guestApi, room, 'Guest'), guestAddress);
    const { peerId: guestId } = await joined(removed);
    data(await request(host, 'removePeer', { peerId: guestId }));
    const again = await guestApi.json<{ message: string }>('POST', `/api/rooms/${room}/tokens`, {
      displayName: 'Guest again',
    });
    expect(again).toMatchObject({ status: 403, body: { message: expect.stringMatching(/removed you/) } });
    // A token from elsewhere (another gateway, an old one) meets the same refusal at the socket.
    const fresh = await tokenFor(new ApiClient(api, { address: randomAddress() }), room, 'Guest in disguise');
    await expect(connect(fresh, guestAddress)).rejects.toThrow(/removed you/);
    // Someone else's address is not banned.
    await joined(await guest(room, 'Bystander'));

    const memberAddress = randomAddress();
    const member = new ApiClient(api, { address: memberAddress });
    expect((await member.request('POST', '/api/auth/register', newAccount('Member'))).status).toBe(201);
    const memberSocket = await connect(await tokenFor(member, room, 'Member'), memberAddress);
    const { peerId: memberId } = await joined(memberSocket);
    data(await request(host, 'removePeer', { peerId: memberId }));
    expect((await member.json('POST', `/api/rooms/${room}/tokens`, { displayName: 'Member' })).status).toBe(
      403,
    );
    await member.request('POST', '/api/auth/logout');
    const asGuest = await member.json('POST', `/api/rooms/${room}/tokens`, { displayName: 'Not the member' });
    expect(asGuest.status).toBe(403);
  });

  it('keeps a host’s mute lock on the identity across reconnects and new guest tokens', async () => {
    const { owner, room } = await ownedRoom();
    const host = await connect(await tokenFor(owner, room, 'Host'), randomAddress());
    await joined(host);
    const address = randomAddress();
    const guestApi = new ApiClient(api, { address });
    const token = await tokenFor(guestApi, room, 'Loud');
    const guest = await connect(token, address);
    const { peerId } = await joined(guest);
    await produceMedia(guest);
    data(await request(host, 'hostMute', { peerId, kind: 'audio', disableUnmute: true }));

    const tryUnmute = async (socket: Client): Promise<Answer> => {
      await joined(socket);
      const { audio } = await produceMedia(socket);
      return request(socket, 'resumeProducer', { producerId: audio });
    };
    // The same token on a new socket (a reload), then a new guest token from the same place.
    const reloaded = await connect(token, address);
    await waitFor(() => !guest.connected, { what: 'the old socket replaced' });
    expect(await tryUnmute(reloaded)).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
    reloaded.disconnect();
    const newToken = await connect(await tokenFor(guestApi, room, 'Loud again'), address);
    expect(await tryUnmute(newToken)).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
  });

  it('takes waiters out of the lobby when their wait ends and when their signaling instance crashes', async () => {
    const { owner, room } = await ownedRoom('lobby');
    const host = await connect(await tokenFor(owner, room, 'Host'), randomAddress());
    await joined(host);
    const left = record(host, 'lobbyLeft');
    const port = await freePort();
    // A second instance whose lobby waits last one second.
    const child = h.spawnSignaling(port, { SIGNALING_LOBBY_WAIT_SECONDS: '1' });
    await h.passingSignaling(port);
    const waiter = await guest(room, 'Patient', { port });
    const denied = next(waiter, 'denied');
    expect(await join(waiter)).toMatchObject({ ok: true, data: { status: 'lobby' } });
    expect((await denied).reason).toMatch(/Nobody let you in/);
    await waitFor(() => !waiter.connected, { what: 'the expired waiter disconnected' });

    const stranded = await guest(room, 'Stranded', { port });
    const asked = next(host, 'lobbyRequest');
    await join(stranded);
    const { peerId } = await asked;
    child.kill('SIGKILL');
    await waitFor(() => left.some((l) => l.peerId === peerId), {
      timeoutMs: 10_000,
      what: 'the crashed instance’s waiter taken out of the lobby',
    });
    expect(await h.redis.hexists(`sb:room:${room}:lobby`, peerId)).toBe(0);
  }, 60_000);
});
