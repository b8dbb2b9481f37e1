/**
 * Integration: who may join and what hosts may do, enforced by signaling against the real media
 * node (mediasoup), Consul, Redis and Postgres — lobby, locked rooms, removal, host-only events,
 * grants, per-peer limits under a parallel burst and per-socket rate limits.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJoinToken } from '@switchboard/auth';
import type { Pool } from '@switchboard/db';
import type { JoinGrants, RequestName } from '@switchboard/protocol';
import { ensureRoom, testGrants, uniqueRoom, waitFor } from '@switchboard/testing';
import type { MediaNode } from '../../media/src/MediaNode';
import type { SignalingServer } from '../src/SignalingServer';
import {
  data,
  expectMalformedRefused,
  join,
  joined,
  next,
  produceMedia,
  request,
  TestClients,
  type Answer,
} from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'access-test-secret-0123456789';
const PER_SOCKET = 120;

describe('room access and host controls (real media node, Consul, Redis, Postgres)', () => {
  let h: Harness;
  let pool: Pool;
  let redis: Redis;
  let media: MediaNode;
  let signaling: SignalingServer;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      signalingEnv: {
        SIGNALING_SOCKET_EVENTS_PER_10S: String(PER_SOCKET),
        SIGNALING_CLIENT_EVENTS_PER_10S: '100000',
      },
    });
    ({ pool, redis } = h);
    [media] = h.media;
    [signaling] = h.signaling;
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  const token = (room: string, name: string, extra: Partial<JoinGrants> = {}) =>
    clients.token(room, name, extra);
  const connect = (auth: string) => clients.connect(signaling.port, auth);

  it('refuses forged tokens, bad grants and rooms that do not exist', async () => {
    const room = await ensureRoom(pool, uniqueRoom('acc'));
    const forged = (
      await signJoinToken(testGrants(room, 'x', { role: 'host' }), 'not-the-secret-0123456789', 60)
    ).token;
    await expect(connect(forged)).rejects.toThrow('join token is invalid');
    const badRole = await token(room, 'x', { role: 'admin' as never });
    await expect(connect(badRole)).rejects.toThrow('join token has invalid grants');
    const expired = (await signJoinToken(testGrants(room, 'x'), SECRET, -5)).token;
    await expect(connect(expired)).rejects.toThrow('join token expired');
    // A valid token for a room that is not (or no longer) in Postgres cannot join anything.
    const ghost = await connect(await token(uniqueRoom('never-created'), 'x'));
    expect(await join(ghost)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('keeps a guest in the lobby until a host admits them; denied guests are sent away', async () => {
    const room = await ensureRoom(pool, uniqueRoom('lobby'), 'lobby');
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);

    const guest = await connect(await token(room, 'Guest'));
    const request1 = next(host, 'lobbyRequest');
    expect(await join(guest)).toMatchObject({ ok: true, data: { status: 'lobby' } });
    const waiting = await request1;
    expect(waiting).toMatchObject({ displayName: 'Guest', role: 'guest' });
    // Waiting is not being in: no transports, not among the peers.
    expect(await request(guest, 'createWebRtcTransport', { producing: false })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
    expect(Object.keys(await redis.hgetall(`sb:room:${room}:peers`))).toHaveLength(1);

    const admitted = next(guest, 'admitted');
    const left = next(host, 'lobbyLeft');
    expect((await request(host, 'admit', { peerId: waiting.peerId })).ok).toBe(true);
    await admitted;
    expect(await left).toEqual({ peerId: waiting.peerId, outcome: 'admitted' });
    const peerJoined = next(host, 'peerJoined');
    await joined(guest);
    expect((await peerJoined).displayName).toBe('Guest');

    // A second guest is denied: told why, then disconnected.
    const other = await connect(await token(room, 'Other'));
    const request2 = next(host, 'lobbyRequest');
    await join(other);
    const denied = next(other, 'denied');
    const gone = next(other, 'disconnect');
    expect((await request(host, 'deny', { peerId: (await request2).peerId })).ok).toBe(true);
    expect((await denied).reason).toMatch(/declined/);
    expect(await gone).toBe('io server disconnect');
  });

  it('lets accounts a host admitted before, and hosts, pass the lobby', async () => {
    const room = await ensureRoom(pool, uniqueRoom('lobby-member'), 'lobby');
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO users (email, password_hash, display_name) VALUES ($1, 'x', 'Member') RETURNING id`,
      [`member-${room}@example.test`],
    );
    await pool.query(`INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, 'participant')`, [
      room,
      rows[0].id,
    ]);
    const member = await connect(
      await token(room, 'Member', { role: 'participant', sub: `user:${rows[0].id}` }),
    );
    await joined(member);
    const stranger = await connect(
      await token(room, 'Stranger', { role: 'participant', sub: `user:${crypto.randomUUID()}` }),
    );
    expect(await join(stranger)).toMatchObject({ ok: true, data: { status: 'lobby' } });
  });

  it('refuses new joins to a locked room (hosts still get in), and a host can lock from the call', async () => {
    const room = await ensureRoom(pool, uniqueRoom('locked'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const policy = next(host, 'policyChanged');
    expect((await request(host, 'setPolicy', { policy: 'locked' })).ok).toBe(true);
    expect(await policy).toEqual({ policy: 'locked' });
    const { rows } = await pool.query<{ policy: string }>('SELECT policy FROM rooms WHERE id = $1', [room]);
    expect(rows[0].policy).toBe('locked');
    const late = await connect(await token(room, 'Late'));
    expect(await join(late)).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'PERMISSION_DENIED',
        message: 'this meeting is locked: no one new can join',
      }),
    });
    const cohost = await connect(await token(room, 'Cohost', { role: 'host' }));
    await joined(cohost);
  });

  it("gives a host of one room no power over another room's participants", async () => {
    const roomA = await ensureRoom(pool, uniqueRoom('room-a'));
    const roomB = await ensureRoom(pool, uniqueRoom('room-b'));
    const hostA = await connect(await token(roomA, 'HostA', { role: 'host' }));
    await joined(hostA);
    const peerB = await connect(await token(roomB, 'PeerB'));
    const { peerId: peerBId } = await joined(peerB);
    for (const [event, payload] of [
      ['removePeer', { peerId: peerBId }],
      ['hostMute', { peerId: peerBId, kind: 'audio' }],
      ['promote', { peerId: peerBId }],
    ] as const) {
      expect(await request(hostA, event, payload), event).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND', message: `participant ${peerBId} is not in this meeting` },
      });
    }
    expect(peerB.connected).toBe(true);
    expect(await redis.hexists(`sb:room:${roomB}:peers`, peerBId)).toBe(1);
  });

  it('refuses every host control from a participant or guest', async () => {
    const room = await ensureRoom(pool, uniqueRoom('nohost'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    const { peerId: hostId } = await joined(host);
    for (const role of ['participant', 'guest'] as const) {
      const peer = await connect(await token(room, `P-${role}`, { role }));
      await joined(peer);
      const attempts: [RequestName, object][] = [
        ['hostMute', { peerId: hostId, kind: 'audio' }],
        ['hostMuteAll', { kind: 'audio' }],
        ['hostAllowUnmute', { peerId: hostId, kind: 'audio' }],
        ['hostAskToUnmute', { peerId: hostId, kind: 'audio' }],
        ['setSelfUnmute', { allowed: false }],
        ['setScreenSharing', { multiple: true }],
        ['removePeer', { peerId: hostId }],
        ['admit', { peerId: hostId }],
        ['deny', { peerId: hostId }],
        ['setPolicy', { policy: 'locked' }],
        ['promote', { peerId: hostId }],
        ['endMeeting', {}],
      ];
      for (const [event, payload] of attempts) {
        expect(await request(peer, event, payload), `${role} ${event}`).toMatchObject({
          ok: false,
          error: { code: 'PERMISSION_DENIED', message: 'only a host of this meeting can do that' },
        });
      }
    }
    // Nothing happened: the host is still in, the room still open, its switches as they were.
    expect(await redis.hexists(`sb:room:${room}:peers`, hostId)).toBe(1);
    expect(await redis.exists(`sb:room:${room}:self-unmute`, `sb:room:${room}:screens`)).toBe(0);
    const { rows } = await pool.query<{ policy: string }>('SELECT policy FROM rooms WHERE id = $1', [room]);
    expect(rows[0].policy).toBe('open');
  });

  it('mutes a participant on the media node; with unmute disabled they cannot resume until allowed', async () => {
    const room = await ensureRoom(pool, uniqueRoom('mute'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const guest = await connect(await token(room, 'Guest'));
    const { peerId: guestId } = await joined(guest);
    const { audio: producerId, video: videoId } = await produceMedia(guest);

    const told = next(guest, 'mutedByHost');
    const seen = next(host, 'producerPaused');
    expect(
      (await request(host, 'hostMute', { peerId: guestId, kind: 'audio', disableUnmute: true })).ok,
    ).toBe(true);
    expect(await told).toEqual({ kind: 'audio', canUnmute: false });
    expect(await seen).toEqual({ producerId, peerId: guestId, paused: true });
    // The media node has it paused: a new consumer starts with producerPaused.
    const recv = await request(host, 'createWebRtcTransport', { producing: false });
    const consumed = await request(host, 'consume', {
      transportId: (recv as unknown as { data: { id: string } }).data.id,
      producerId,
    });
    expect(consumed).toMatchObject({ ok: true, data: { producerPaused: true } });

    expect(await request(guest, 'resumeProducer', { producerId })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: expect.stringMatching(/a host muted your microphone/) },
    });
    const allowed = next(guest, 'unmuteAllowed');
    expect((await request(host, 'hostAllowUnmute', { peerId: guestId, kind: 'audio' })).ok).toBe(true);
    expect(await allowed).toEqual({ kind: 'audio' });
    const resumed = next(host, 'producerPaused');
    expect((await request(guest, 'resumeProducer', { producerId })).ok).toBe(true);
    expect(await resumed).toEqual({ producerId, peerId: guestId, paused: false });

    // The camera too: only the video producer is paused, and the guest may turn it back on.
    const cameraTold = next(guest, 'mutedByHost');
    const cameraSeen = next(host, 'producerPaused');
    expect((await request(host, 'hostMute', { peerId: guestId, kind: 'video' })).ok).toBe(true);
    expect(await cameraTold).toEqual({ kind: 'video', canUnmute: true });
    expect(await cameraSeen).toEqual({ producerId: videoId, peerId: guestId, paused: true });
    const producers = JSON.parse((await redis.hget(`sb:room:${room}:producers`, producerId)) ?? '{}') as {
      paused: boolean;
    };
    expect(producers.paused).toBe(false); // the microphone stayed on
    expect((await request(guest, 'resumeProducer', { producerId: videoId })).ok).toBe(true);
  });

  it('mutes everyone but the host on the media node; asked to unmute, a locked participant may again', async () => {
    const room = await ensureRoom(pool, uniqueRoom('mute-all'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const { audio: hostMic } = await produceMedia(host);
    const guests = [];
    for (const name of ['G1', 'G2', 'G3']) {
      const client = await connect(await token(room, name));
      const { peerId } = await joined(client);
      guests.push({ client, peerId, ...(await produceMedia(client)) });
    }
    const told = guests.map((g) => next(g.client, 'mutedByHost'));
    expect(await request(guests[0].client, 'hostMuteAll', { kind: 'audio' })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    expect(await request(host, 'hostMuteAll', { kind: 'audio', disableUnmute: true })).toEqual({
      ok: true,
      data: { muted: 3 },
    });
    expect(await Promise.all(told)).toEqual(guests.map(() => ({ kind: 'audio', canUnmute: false })));
    // On the media node: a new consumer of each guest's microphone starts paused; the host's is not.
    const recv = data<{ id: string }>(await request(host, 'createWebRtcTransport', { producing: false }));
    for (const guest of guests) {
      expect(
        await request(host, 'consume', { transportId: recv.id, producerId: guest.audio }),
        guest.peerId,
      ).toMatchObject({ ok: true, data: { producerPaused: true } });
      expect(await request(guest.client, 'resumeProducer', { producerId: guest.audio })).toMatchObject({
        ok: false,
        error: { code: 'PERMISSION_DENIED' },
      });
    }
    const own = JSON.parse((await redis.hget(`sb:room:${room}:producers`, hostMic)) ?? '{}') as {
      paused: boolean;
    };
    expect(own.paused).toBe(false);
    // Asked to unmute: told, the lock lifted, and the participant decides.
    const asked = next(guests[1].client, 'unmuteRequested');
    expect((await request(host, 'hostAskToUnmute', { peerId: guests[1].peerId, kind: 'audio' })).ok).toBe(
      true,
    );
    expect(await asked).toEqual({ kind: 'audio' });
    expect((await request(guests[1].client, 'resumeProducer', { producerId: guests[1].audio })).ok).toBe(
      true,
    );
    // The others stay locked.
    expect(await request(guests[2].client, 'resumeProducer', { producerId: guests[2].audio })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
  });

  it('with self-unmute off, participants start muted and unmute only when a host asks; hosts always may', async () => {
    const room = await ensureRoom(pool, uniqueRoom('self-unmute'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const early = await connect(await token(room, 'Early'));
    const { peerId: earlyId } = await joined(early);
    const earlyMedia = await produceMedia(early);

    const told = next(early, 'selfUnmuteChanged');
    expect((await request(host, 'setSelfUnmute', { allowed: false })).ok).toBe(true);
    expect(await told).toEqual({ allowed: false });
    // Mutes no one: the early microphone stays on; once off, it cannot come back.
    expect(
      JSON.parse((await redis.hget(`sb:room:${room}:producers`, earlyMedia.audio)) ?? '{}'),
    ).toMatchObject({
      paused: false,
    });
    expect((await request(early, 'pauseProducer', { producerId: earlyMedia.audio })).ok).toBe(true);
    expect(await request(early, 'resumeProducer', { producerId: earlyMedia.audio })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: expect.stringMatching(/ask a host/) },
    });
    // The camera is not held.
    expect((await request(early, 'pauseProducer', { producerId: earlyMedia.video })).ok).toBe(true);
    expect((await request(early, 'resumeProducer', { producerId: earlyMedia.video })).ok).toBe(true);

    // Someone arriving now hears of it in the join answer, and their microphone starts paused on
    // the media node although they asked for it on.
    const late = await connect(await token(room, 'Late'));
    expect(await join(late)).toMatchObject({ ok: true, data: { selfUnmuteAllowed: false } });
    const lateMedia = await produceMedia(late);
    const recv = data<{ id: string }>(await request(host, 'createWebRtcTransport', { producing: false }));
    expect(
      await request(host, 'consume', { transportId: recv.id, producerId: lateMedia.audio }),
    ).toMatchObject({
      ok: true,
      data: { producerPaused: true },
    });
    expect(
      await request(host, 'consume', { transportId: recv.id, producerId: lateMedia.video }),
    ).toMatchObject({
      ok: true,
      data: { producerPaused: false },
    });

    // A host is never held: its own microphone goes off and on.
    const hostMedia = await produceMedia(host);
    expect((await request(host, 'pauseProducer', { producerId: hostMedia.audio })).ok).toBe(true);
    expect((await request(host, 'resumeProducer', { producerId: hostMedia.audio })).ok).toBe(true);

    // Asked, the early participant may; the late one still may not.
    expect((await request(host, 'hostAskToUnmute', { peerId: earlyId, kind: 'audio' })).ok).toBe(true);
    expect((await request(early, 'resumeProducer', { producerId: earlyMedia.audio })).ok).toBe(true);
    expect(await request(late, 'resumeProducer', { producerId: lateMedia.audio })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });

    // Switched on again: everyone may, and a later switch-off forgets the earlier permission.
    expect((await request(host, 'setSelfUnmute', { allowed: true })).ok).toBe(true);
    expect((await request(late, 'resumeProducer', { producerId: lateMedia.audio })).ok).toBe(true);
    expect((await request(host, 'setSelfUnmute', { allowed: false })).ok).toBe(true);
    expect((await request(early, 'pauseProducer', { producerId: earlyMedia.audio })).ok).toBe(true);
    expect(await request(early, 'resumeProducer', { producerId: earlyMedia.audio })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    // Bad input is refused with what was wrong.
    expect(await request(host, 'setSelfUnmute', { allowed: 'no' } as never)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/allowed/) },
    });
  });

  it('removes a participant: told, disconnected, seen leaving, and their token no longer connects', async () => {
    const room = await ensureRoom(pool, uniqueRoom('remove'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const guestToken = await token(room, 'Guest');
    const guest = await connect(guestToken);
    const { peerId: guestId } = await joined(guest);
    const removed = next(guest, 'removed');
    const gone = next(guest, 'disconnect');
    const left = next(host, 'peerLeft');
    expect((await request(host, 'removePeer', { peerId: guestId })).ok).toBe(true);
    expect((await removed).reason).toMatch(/removed you/);
    expect(await gone).toBe('io server disconnect');
    expect(await left).toEqual({ peerId: guestId, reason: 'left' }); // gone, not reconnecting
    await expect(connect(guestToken)).rejects.toThrow('a host removed you from this meeting');
    expect(await request(host, 'removePeer', { peerId: guestId })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  it('promotes a participant to host, who can then use host controls; a host ends the meeting for all', async () => {
    const room = await ensureRoom(pool, uniqueRoom('promote'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const guest = await connect(await token(room, 'Guest'));
    const { peerId: guestId } = await joined(guest);
    const changed = next(guest, 'roleChanged');
    expect((await request(host, 'promote', { peerId: guestId })).ok).toBe(true);
    expect(await changed).toEqual({ peerId: guestId, role: 'host' });
    expect((await request(guest, 'setPolicy', { policy: 'lobby' })).ok).toBe(true);

    const ended = [next(host, 'callEnded'), next(guest, 'callEnded')];
    expect((await request(guest, 'endMeeting', {})).ok).toBe(true);
    for (const notice of await Promise.all(ended)) {
      expect(notice).toEqual({ reason: 'A host ended the meeting for everyone.', final: true });
    }
    await waitFor(async () => (await redis.hlen(`sb:room:${room}:peers`)) === 0, { what: 'room emptied' });
  });

  it('enforces canPublish and canSubscribe from the join token', async () => {
    const room = await ensureRoom(pool, uniqueRoom('grants'));
    const viewer = await connect(await token(room, 'Viewer', { canPublish: false }));
    await joined(viewer);
    expect(await request(viewer, 'createWebRtcTransport', { producing: true })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: 'your join token does not allow sending media' },
    });
    const speaker = await connect(await token(room, 'Speaker', { canSubscribe: false }));
    await joined(speaker);
    const { audio: producerId } = await produceMedia(speaker);
    const recv = await request(speaker, 'createWebRtcTransport', { producing: false });
    expect(
      await request(speaker, 'consume', {
        transportId: (recv as unknown as { data: { id: string } }).data.id,
        producerId,
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: 'your join token does not allow receiving media' },
    });
  });

  it('refuses every malformed payload of every event, host controls included, and accepts none', async () => {
    const room = await ensureRoom(pool, uniqueRoom('fuzz'));
    const host = await connect(await token(room, 'Host', { role: 'host' }));
    await joined(host);
    const guest = await connect(await token(room, 'Guest'));
    const { peerId: guestId } = await joined(guest);
    const events = Object.keys((await import('@switchboard/protocol')).requestSchemas) as RequestName[];
    expect(events.length).toBeGreaterThanOrEqual(19);
    const payloads: unknown[] = [
      null,
      42,
      'text',
      [],
      true,
      { correlationId: 7 },
      { correlationId: 'x'.repeat(65) },
      { unknownKey: 1 },
      { peerId: 5 },
      { peerId: guestId, kind: 'smell' },
      { peerId: guestId, kind: 'audio', disableUnmute: 'yes' },
      { peerId: guestId, admin: true },
      { policy: 'everyone' },
      { policy: 'locked', extra: 1 },
      { nested: { deeper: { deepest: 'x'.repeat(10_000) } } },
    ];
    for (const event of events.filter((e) => e !== 'leave')) {
      // A host socket per event, so the per-socket rate limit never answers before validation.
      const sender = await connect(await token(room, 'Host', { role: 'host' }));
      await joined(sender);
      await expectMalformedRefused(
        sender,
        payloads.map((payload) => [event, payload]),
      );
    }
    // Nothing the fuzz sent did anything: everyone is still in, the room still open.
    expect(await redis.hlen(`sb:room:${room}:peers`)).toBe(events.length + 1);
    expect(guest.connected).toBe(true);
  }, 60_000);

  it('creates at most the per-peer limit of transports under a burst of 200 parallel requests', async () => {
    const room = await ensureRoom(pool, uniqueRoom('burst'));
    const peer = await connect(await token(room, 'Burst'));
    await joined(peer);
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${media.metricsPort}/metrics`)).text();
      return Number(/^switchboard_media_transports\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    };
    const before = await metric();
    await new Promise((r) => setTimeout(r, 10_000)); // a fresh rate-limit window for this socket's client
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => request(peer, 'createWebRtcTransport', { producing: false })),
    );
    const ok = answers.filter((a) => a.ok).length;
    const limited = answers.filter(
      (a) => !a.ok && a.error.message === 'a peer may hold at most 4 transports',
    );
    expect(ok).toBe(4);
    expect(limited.length).toBeGreaterThan(PER_SOCKET - 10); // the per-peer limit did the refusing
    expect(answers.every((a) => a.ok || a.error.code === 'RESOURCE_EXHAUSTED')).toBe(true);
    expect((await metric()) - before).toBe(4);
  }, 30_000);

  it('limits a socket flooding events while another socket in the same room is unaffected', async () => {
    const room = await ensureRoom(pool, uniqueRoom('flood'));
    const flooder = await connect(await token(room, 'Flooder'));
    const calm = await connect(await token(room, 'Calm'));
    await joined(flooder);
    await joined(calm);
    const flood = Array.from({ length: 400 }, () => request(flooder, 'getRouterRtpCapabilities', {}));
    const calmAnswers: Answer[] = [];
    for (let i = 0; i < 20; i++) {
      calmAnswers.push(await request(calm, 'getRouterRtpCapabilities', {}));
    }
    const floodAnswers = await Promise.all(flood);
    const refused = floodAnswers.filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThanOrEqual(400 - PER_SOCKET);
    expect(refused[0]).toMatchObject({
      ok: false,
      error: { code: 'RESOURCE_EXHAUSTED', message: 'this connection sends too many requests; slow down' },
    });
    expect((refused[0] as { error: { retryAfterSeconds: number } }).error.retryAfterSeconds).toBeGreaterThan(
      0,
    );
    expect(calmAnswers.filter((a) => a.ok)).toHaveLength(20);
    expect(flooder.connected).toBe(true); // limited, not dropped
  });
});
