/**
 * Drives real headless Chromium (Debian's, fake camera and microphone) through the meeting UI.
 * Shared by the end-to-end tests and the join-time benchmark.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ApiClient, newAccount, randomAddress, testDatabaseUrl, testRedisUrl } from '@switchboard/testing';

/**
 * The fake microphone's sound: a voice-like 220 Hz tone whose loudness swells between about -25
 * and -12 dBov, 4 s looped. Chromium's own fake microphone only beeps once a second, which
 * averages below any speaking threshold, so nobody would ever show as speaking.
 */
function fakeVoiceFile(): string {
  const path = join(tmpdir(), 'switchboard-fake-voice.wav');
  const rate = 48_000;
  const samples = rate * 4;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const loudness = 0.05 + 0.2 * (0.5 + 0.5 * Math.sin(2 * Math.PI * 1.5 * t));
    wav.writeInt16LE(Math.round(Math.sin(2 * Math.PI * 220 * t) * loudness * 32767), 44 + i * 2);
  }
  writeFileSync(path, wav);
  return path;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Three fake cameras (fake_device_0, I420, is the default), so a test can switch mid-call.
  // Chromium gives its fake devices the formats I420, Y16 and MJPEG in turn: fake_device_1 is a
  // depth camera (Y16) whose frames no encoder takes; fake_device_2 (MJPEG) is the one to switch to.
  '--use-fake-device-for-media-stream=device-count=3',
  '--use-fake-ui-for-media-stream',
  `--use-file-for-fake-audio-capture=${fakeVoiceFile()}`,
  '--autoplay-policy=no-user-gesture-required',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/**
 * Every Content-Security-Policy refusal a page of the e2e runs reported (its console error): the
 * pages must work under the policy, not beside it. Tests assert this stays empty.
 */
export const cspViolations: string[] = [];

/** Records the context's CSP refusals into cspViolations. */
export function watchCsp(context: BrowserContext): BrowserContext {
  context.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      cspViolations.push(`${message.location().url}: ${message.text()}`);
    }
  });
  return context;
}

export interface Participant {
  name: string;
  context: BrowserContext;
  page: Page;
  /** When Join was clicked (ms since epoch). */
  clickedAt?: number;
}

/** Opens the room page as `name`, waits for the camera preview, ready to click Join. */
export async function openRoom(
  browser: Browser,
  baseUrl: string,
  room: string,
  name: string,
  /** More of the link's query (`relay`: media only through TURN). */
  query = '',
  /** Accept the stack's self-signed certificate (an https baseUrl). */
  options: { ignoreHTTPSErrors?: boolean; onPage?: (page: Page) => void } = {},
): Promise<Participant> {
  const context = watchCsp(
    await browser.newContext({
      permissions: ['camera', 'microphone'],
      ignoreHTTPSErrors: options.ignoreHTTPSErrors,
    }),
  );
  const page = await context.newPage();
  options.onPage?.(page);
  // Loading the page is not what these tests measure: a saturated 2-core machine (several tabs
  // already in a call) can take more than playwright's default 30 s.
  await page.goto(`${baseUrl}/r/${room}?name=${encodeURIComponent(name)}${query ? `&${query}` : ''}`, {
    timeout: 60_000,
  });
  await page.getByLabel('Your camera preview').waitFor();
  const join = page.getByRole('button', { name: 'Join' });
  await join.waitFor();
  await page.waitForFunction(() => {
    const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Join');
    return button && !button.hasAttribute('disabled');
  });
  return { name, context, page };
}

/**
 * Leaves the call (the others see "left", not a tile reconnecting through the grace period) and
 * closes the tab, pass or fail: for a visitor that comes and goes within one test.
 */
export async function leaveAndClose(participant: Participant): Promise<void> {
  await participant.page
    .getByRole('button', { name: 'Leave' })
    .click({ timeout: 2000 })
    .catch(() => {});
  await participant.context.close();
}

export async function clickJoin(participant: Participant): Promise<void> {
  participant.clickedAt = Date.now();
  await participant.page.getByRole('button', { name: 'Join' }).click();
}

/** Resolves when every named remote video has decoded at least one frame; returns when (ms). */
export async function waitForRemoteVideos(
  participant: Participant,
  names: string[],
  timeoutMs = 30_000,
): Promise<number> {
  try {
    await participant.page.waitForFunction(
      (expected: string[]) => {
        const playing = expected.every((name) => {
          const video = document.querySelector<HTMLVideoElement>(`video[aria-label="${CSS.escape(name)}"]`);
          return !!video && video.readyState >= 2 && video.getVideoPlaybackQuality().totalVideoFrames > 0;
        });
        if (playing) {
          performance.mark('sb:remote videos playing');
        }
        return playing;
      },
      names,
      { timeout: timeoutMs, polling: 20 },
    );
  } catch (error) {
    // Say which videos were missing and how far each got.
    const states = await participant.page
      .evaluate((expected: string[]) => {
        return expected.map((name) => {
          const video = document.querySelector<HTMLVideoElement>(`video[aria-label="${CSS.escape(name)}"]`);
          if (!video) {
            return `${name}: no video`;
          }
          const box = video.getBoundingClientRect();
          // What the element plays: each track's kind, state and whether frames reach it.
          const tracks = ((video.srcObject as MediaStream | null)?.getTracks() ?? [])
            .map((t) => `${t.kind} ${t.readyState}${t.muted ? ' muted' : ''}`)
            .join(', ');
          return `${name}: readyState ${video.readyState}, frames ${video.getVideoPlaybackQuality().totalVideoFrames}, ${box.width}x${box.height} at ${Math.round(box.top)}, tracks [${tracks}]`;
        });
      }, names)
      .catch(() => ['(page gone)']);
    throw new Error(`${participant.name} does not see every video playing: ${states.join('; ')}`, {
      cause: error,
    });
  }
  return Date.now();
}

/** Decoded frame counts of the named remote videos. */
export async function frameCounts(
  participant: Participant,
  names: string[],
): Promise<Record<string, number>> {
  return participant.page.evaluate((expected: string[]) => {
    const out: Record<string, number> = {};
    for (const name of expected) {
      const video = document.querySelector<HTMLVideoElement>(`video[aria-label="${CSS.escape(name)}"]`);
      out[name] = video ? video.getVideoPlaybackQuality().totalVideoFrames : -1;
    }
    return out;
  }, names);
}

/**
 * Peak audio level (0–1) heard from the named remote participant over `ms`, measured with Web
 * Audio on the received track (Chromium's fake microphone beeps).
 */
export async function remoteAudioPeak(participant: Participant, name: string, ms = 2500): Promise<number> {
  return participant.page.evaluate(
    async ({ name, ms }) => {
      const video = document.querySelector<HTMLVideoElement>(`video[aria-label="${CSS.escape(name)}"]`);
      const stream = video?.srcObject as MediaStream | null;
      const track = stream?.getAudioTracks()[0];
      if (!track) {
        return -1;
      }
      const context = new AudioContext();
      await context.resume();
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      let peak = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        analyser.getFloatTimeDomainData(samples);
        for (const v of samples) {
          peak = Math.max(peak, Math.abs(v));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await context.close();
      return peak;
    },
    { name, ms },
  );
}

/** The page's `sb:` performance marks, in ms after the first one named `from`. */
export async function joinTimeline(participant: Participant, from = 'sb:join'): Promise<[string, number][]> {
  return participant.page.evaluate((start: string) => {
    const marks = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('sb:'));
    const t0 = marks.find((m) => m.name === start)?.startTime ?? 0;
    return marks.map((m) => [m.name.slice(3), Math.round(m.startTime - t0)] as [string, number]);
  }, from);
}

/** The page's `sb:` marks since `since` (epoch ms), as "<ms after since> <name>", for a failure's log. */
export async function marksSince(
  participant: Pick<Participant, 'name' | 'page'>,
  since: number,
): Promise<string> {
  const marks = await participant.page
    .evaluate(
      (from: number) =>
        performance
          .getEntriesByType('mark')
          .filter((m) => m.name.startsWith('sb:') && performance.timeOrigin + m.startTime >= from)
          .map((m) => [m.name.slice(3), Math.round(performance.timeOrigin + m.startTime - from)] as const),
      since,
    )
    .catch(() => [['(page gone)', 0] as const]);
  return `${participant.name}: ${marks.map(([n, t]) => `${t} ${n}`).join(' · ')}`;
}

/** The operator account of the end-to-end stacks (listed in SWITCHBOARD_OPERATOR_EMAILS). */
export const E2E_OPERATOR = {
  email: 'operator@e2e.switchboard.test',
  password: 'e2e-operator-password',
  displayName: 'Operator',
};

/** Environment for an end-to-end Stack: the operator account above. */
export const E2E_ENV = { SWITCHBOARD_OPERATOR_EMAILS: E2E_OPERATOR.email };

/** A REST client signed in as the e2e operator (registered on first use). */
export async function operatorClient(baseUrl: string): Promise<ApiClient> {
  const api = new ApiClient(baseUrl, { address: randomAddress() });
  const registered = await api.request('POST', '/api/auth/register', E2E_OPERATOR);
  if (registered.status !== 201) {
    const login = await api.request('POST', '/api/auth/login', {
      email: E2E_OPERATOR.email,
      password: E2E_OPERATOR.password,
    });
    if (login.status !== 200) {
      throw new Error(`operator login failed: ${login.status} ${await login.text()}`);
    }
  }
  return api;
}

/** Signs up a new host through the API and creates a room; returns its id and the host's client. */
export async function createRoom(
  baseUrl: string,
  options: { name?: string; policy?: 'open' | 'lobby' | 'locked'; address?: string } = {},
): Promise<{ id: string; host: ApiClient }> {
  const { address = randomAddress(), ...room } = options;
  const host = new ApiClient(baseUrl, { address });
  const signup = await host.json('POST', '/api/auth/register', newAccount('Host'));
  if (signup.status !== 201) {
    throw new Error(`sign-up failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  }
  const created = await host.json<{ id: string }>('POST', '/api/rooms', room);
  if (created.status !== 201) {
    throw new Error(`room creation failed: ${created.status} ${JSON.stringify(created.body)}`);
  }
  return { id: created.body.id, host };
}

/** A browser context signed in through the UI's sign-in page. */
export async function signedInContext(
  browser: Browser,
  baseUrl: string,
  account: { email: string; password: string },
): Promise<BrowserContext> {
  const context = watchCsp(await browser.newContext({ permissions: ['camera', 'microphone'] }));
  const page = await context.newPage();
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/`);
  await page.close();
  return context;
}

/**
 * The databases end-to-end stacks and benchmarks use: the test ones, never a developer's
 * `switchboard` database (a deployment's operators are listed or set up with its one-time code).
 */
export const E2E_BACKENDS = { databaseUrl: testDatabaseUrl(), redisUrl: testRedisUrl() };
