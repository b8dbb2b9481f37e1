/**
 * Unit: the browser's room state over recorded event sequences — join, leave, reconnect, attribute
 * and hand changes, duplicates and events out of order — and that every change is a new object
 * while nothing changed keeps the same one (what React relies on).
 */
import { describe, expect, it } from 'vitest';
import type { JoinResult, PeerInfo } from '@switchboard/protocol';
import {
  initialRoomState,
  isOff,
  raisedHands,
  reduce,
  unmuteLocked,
  type RoomEvent,
  type RoomState,
} from './RoomState';

const peer = (peerId: string, extra: Partial<PeerInfo> = {}): PeerInfo => ({
  peerId,
  displayName: peerId.toUpperCase(),
  role: 'guest',
  sub: `guest:${peerId}`,
  ...extra,
});

const joined = (extra: Partial<JoinResult> = {}): RoomEvent => ({
  type: 'joined',
  result: {
    status: 'joined',
    roomId: 'room',
    peerId: 'me',
    displayName: 'Me',
    role: 'participant',
    policy: 'open',
    canPublish: true,
    canSubscribe: true,
    peers: [peer('ada', { attributes: { hand: '200' } }), peer('bob')],
    producers: [
      { producerId: 'ada-mic', peerId: 'ada', kind: 'audio', source: 'microphone', paused: false },
      { producerId: 'ada-cam', peerId: 'ada', kind: 'video', paused: true },
    ],
    multipleScreenShares: false,
    selfUnmuteAllowed: true,
    lobby: [],
    ...extra,
  },
});

const run = (events: RoomEvent[], from: RoomState = initialRoomState) => events.reduce(reduce, from);

describe('RoomState', () => {
  it('takes the room from the join answer: participants, their producers, attributes and hands', () => {
    const state = run([joined()]);
    expect(state.selfPeerId).toBe('me');
    expect(Object.keys(state.participants).sort()).toEqual(['ada', 'bob']);
    expect(isOff(state.participants.ada, 'microphone')).toBe(false);
    expect(isOff(state.participants.ada, 'camera')).toBe(true); // paused
    expect(isOff(state.participants.bob, 'microphone')).toBe(false); // sends nothing: not shown muted
    expect(raisedHands(state)).toEqual(['ada']);
    expect(state).toMatchObject({ canPublish: true, canSubscribe: true });
    // A viewer's token: what it may do comes with the answer.
    expect(run([joined({ canPublish: false })])).toMatchObject({ canPublish: false, canSubscribe: true });
  });

  it('orders hands by the time of raising, ours included, and drops them as they are lowered', () => {
    const state = run([
      joined(),
      { type: 'attributesChanged', peerId: 'bob', attributes: { hand: '100' } },
      { type: 'attributesChanged', peerId: 'me', attributes: { hand: '300' } },
    ]);
    expect(raisedHands(state)).toEqual(['bob', 'ada', 'me']);
    expect(state.selfAttributes).toEqual({ hand: '300' });
    const lowered = run([{ type: 'attributesChanged', peerId: 'bob', attributes: {} }], state);
    expect(raisedHands(lowered)).toEqual(['ada', 'me']);
  });

  it('shows a dropped peer as reconnecting (hand hidden, media gone) until its identity is back', () => {
    const state = run([
      joined(),
      { type: 'peerLeft', peerId: 'ada', reason: 'disconnected' },
      { type: 'presenceChanged', peerId: 'ada', state: 'away' }, // late: ignored
    ]);
    expect(state.participants.ada.presence).toBe('reconnecting');
    expect(state.participants.ada.producers).toEqual({});
    expect(raisedHands(state)).toEqual([]);
    const back = run(
      [{ type: 'peerJoined', peer: peer('ada2', { sub: 'guest:ada', attributes: { hand: '200' } }) }],
      state,
    );
    expect(Object.keys(back.participants).sort()).toEqual(['ada2', 'bob']);
    expect(raisedHands(back)).toEqual(['ada2']);
    // peerGone for someone who came back (as a new peer) or left on purpose changes nothing.
    expect(run([{ type: 'peerGone', peerId: 'bob' }], back)).toBe(back);
  });

  it('removes a peer that left on purpose, and one still reconnecting when it gives up', () => {
    const state = run([
      joined(),
      { type: 'peerLeft', peerId: 'bob', reason: 'left' },
      { type: 'peerLeft', peerId: 'ada', reason: 'disconnected' },
      { type: 'peerGone', peerId: 'ada' },
    ]);
    expect(state.participants).toEqual({});
  });

  it('is idempotent: duplicate events, and events about unknown peers, change nothing', () => {
    const state = run([joined()]);
    const same: RoomEvent[] = [
      { type: 'producerPaused', producerId: 'ada-cam', peerId: 'ada', paused: true },
      {
        type: 'newProducer',
        producer: {
          producerId: 'ada-mic',
          peerId: 'ada',
          kind: 'audio',
          source: 'microphone',
          paused: false,
        },
      },
      { type: 'producerClosed', producerId: 'nope', peerId: 'ada' },
      { type: 'attributesChanged', peerId: 'stranger', attributes: { hand: '1' } },
      { type: 'presenceChanged', peerId: 'stranger', state: 'away' },
      { type: 'peerLeft', peerId: 'stranger', reason: 'left' },
      { type: 'roleChanged', peerId: 'stranger', role: 'host' },
      { type: 'lobbyLeft', peerId: 'stranger' },
      { type: 'policyChanged', policy: 'open' },
      { type: 'screenSharingChanged', multiple: false },
      { type: 'selfUnmuteChanged', allowed: true },
      { type: 'mutedByHost', kind: 'audio', canUnmute: true },
      { type: 'peerJoined', peer: peer('me') }, // ourselves
    ];
    for (const event of same) {
      expect(reduce(state, event), event.type).toBe(state);
    }
    // A join answer replayed (a rejoin) gives the same room.
    expect(run([joined()], state)).toEqual(state);
    // peerJoined twice keeps one participant and what it sends.
    const twice = run(
      [
        { type: 'peerJoined', peer: peer('ada', { presence: 'away' }) },
        { type: 'peerJoined', peer: peer('ada', { presence: 'away' }) },
      ],
      state,
    );
    expect(Object.keys(twice.participants).sort()).toEqual(['ada', 'bob']);
    expect(Object.keys(twice.participants.ada.producers)).toHaveLength(2);
  });

  it('never changes a state it was given (immutable snapshots)', () => {
    const state = run([joined()]);
    const frozen = JSON.stringify(state);
    run(
      [
        { type: 'attributesChanged', peerId: 'ada', attributes: { hand: '1', x: 'y' } },
        { type: 'producerPaused', producerId: 'ada-mic', peerId: 'ada', paused: true },
        {
          type: 'newProducer',
          producer: { producerId: 'bob-cam', peerId: 'bob', kind: 'video', paused: false },
        },
        { type: 'roleChanged', peerId: 'me', role: 'host' },
        { type: 'lobbyRequest', peer: peer('waiter') },
        { type: 'peerLeft', peerId: 'bob', reason: 'left' },
      ],
      state,
    );
    expect(JSON.stringify(state)).toBe(frozen);
  });

  it('forgets the others when our connection drops, and the lobby too when the call ends', () => {
    const state = run([joined({ lobby: [peer('w1')] }), { type: 'activeSpeaker', peerId: 'ada' }]);
    const lost = reduce(state, { type: 'connectionLost' });
    expect(lost).toMatchObject({
      participants: {},
      activeSpeaker: undefined,
      selfPeerId: 'me',
      policy: 'open',
    });
    expect(Object.keys(lost.lobby)).toEqual(['w1']);
    expect(reduce(state, { type: 'ended' })).toMatchObject({ participants: {}, lobby: {} });
  });

  it('applies the events that came before the join answer over it, whether older or newer than it', () => {
    // Our socket is in the room before the server reads the room for the answer: Cy joined after
    // that read (not in the answer), Bob left after it (still in it), Ada's camera resumed before
    // it (already in it, paused: false there too).
    const state = run([
      { type: 'connectionLost' },
      { type: 'peerJoined', peer: peer('cy') },
      { type: 'newProducer', producer: { producerId: 'cy-cam', peerId: 'cy', kind: 'video', paused: false } },
      { type: 'peerLeft', peerId: 'bob', reason: 'left' },
      { type: 'producerPaused', producerId: 'ada-cam', peerId: 'ada', paused: false },
    ]);
    expect(state.participants).toEqual({});
    const answered = reduce(state, joined());
    expect(Object.keys(answered.participants).sort()).toEqual(['ada', 'cy']);
    expect(answered.participants.cy.producers['cy-cam']).toMatchObject({ kind: 'video', paused: false });
    expect(isOff(answered.participants.ada, 'camera')).toBe(false);
    expect(answered.early).toBeUndefined();
    // After the answer, events apply at once again.
    expect(reduce(answered, { type: 'peerJoined', peer: peer('dee') }).participants.dee).toBeDefined();
  });

  it('tracks the lobby, the policy, roles and the active speaker', () => {
    const state = run([
      joined({ role: 'host', lobby: [peer('w1')] }),
      { type: 'lobbyRequest', peer: peer('w2') },
      { type: 'lobbyLeft', peerId: 'w1' },
      { type: 'policyChanged', policy: 'locked' },
      { type: 'roleChanged', peerId: 'bob', role: 'host' },
      { type: 'activeSpeaker', peerId: 'ada' },
      { type: 'screenSharingChanged', multiple: true },
    ]);
    expect(Object.keys(state.lobby)).toEqual(['w2']);
    expect(state).toMatchObject({
      role: 'host',
      policy: 'locked',
      activeSpeaker: 'ada',
      multipleScreenShares: true,
    });
    expect(state.participants.bob.role).toBe('host');
  });

  it('locks our unmute as hosts say: a lock, the room switch, a request or permission, a rejoin', () => {
    const state = run([joined()]);
    expect(unmuteLocked(state, 'audio')).toBe(false);
    // A host muted the microphone without allowing unmute; the camera stays free.
    const locked = reduce(state, { type: 'mutedByHost', kind: 'audio', canUnmute: false });
    expect([unmuteLocked(locked, 'audio'), unmuteLocked(locked, 'video')]).toEqual([true, false]);
    // The lock survives a dropped connection and a rejoin (the server keeps it for our identity).
    const rejoined = run([{ type: 'connectionLost' }, joined()], locked);
    expect(unmuteLocked(rejoined, 'audio')).toBe(true);
    expect(unmuteLocked(reduce(rejoined, { type: 'unmuteGranted', kind: 'audio' }), 'audio')).toBe(false);

    // Self-unmute off holds every non-host's microphone (not the camera) until a host grants it.
    const off = reduce(state, { type: 'selfUnmuteChanged', allowed: false });
    expect([unmuteLocked(off, 'audio'), unmuteLocked(off, 'video')]).toEqual([true, false]);
    const asked = reduce(off, { type: 'unmuteGranted', kind: 'audio' });
    expect(unmuteLocked(asked, 'audio')).toBe(false);
    // Switched on and off again: the earlier request no longer counts.
    const again = run(
      [
        { type: 'selfUnmuteChanged', allowed: true },
        { type: 'selfUnmuteChanged', allowed: false },
      ],
      asked,
    );
    expect(unmuteLocked(again, 'audio')).toBe(true);
    // Hosts are never held by the switch; a join answer says how the room is.
    expect(unmuteLocked(reduce(off, { type: 'roleChanged', peerId: 'me', role: 'host' }), 'audio')).toBe(
      false,
    );
    expect(unmuteLocked(run([joined({ selfUnmuteAllowed: false })]), 'audio')).toBe(true);
  });
});
