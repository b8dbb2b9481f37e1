/**
 * A room's shared state, one owner each, used by signaling and the gateway alike: its participants
 * and producers (ParticipantStore), its lobby, admissions and mute locks (RoomAccess), and a
 * policy change with what it implies (changePolicy).
 */
export * from './participants';
export * from './RoomAccess';
export * from './policy';
