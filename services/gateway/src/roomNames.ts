import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'amber',
  'brisk',
  'calm',
  'daring',
  'eager',
  'fuzzy',
  'gentle',
  'happy',
  'keen',
  'lucky',
  'mellow',
  'nimble',
  'quiet',
  'rapid',
  'sunny',
  'witty',
];
const NOUNS = [
  'otter',
  'falcon',
  'maple',
  'harbor',
  'comet',
  'meadow',
  'lantern',
  'canyon',
  'willow',
  'pebble',
  'summit',
  'breeze',
  'island',
  'rocket',
  'garden',
  'river',
];

/** A readable random room name such as "sunny-otter-4821" (valid for roomNameSchema). */
export function randomRoomName(): string {
  const pick = (list: string[]) => list[randomInt(list.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000, 10000)}`;
}
