import { describe, expect, it } from 'vitest';
import { fallbackDevice } from './LocalMedia';

const cams = [
  { deviceId: 'default', label: 'Default' },
  { deviceId: 'usb', label: 'USB camera' },
  { deviceId: 'built-in', label: 'Built-in camera' },
];

describe('the device a call falls back to when one is unplugged', () => {
  it("prefers the browser's default when it is another device", () => {
    expect(fallbackDevice(cams, 'usb')?.deviceId).toBe('default');
  });

  it('takes the first other device when the default itself went', () => {
    expect(fallbackDevice(cams, 'default')?.deviceId).toBe('usb');
  });

  it('has nothing when the lost device was the only one', () => {
    expect(fallbackDevice([{ deviceId: 'usb', label: 'USB' }], 'usb')).toBeUndefined();
    expect(fallbackDevice([], undefined)).toBeUndefined();
  });
});
