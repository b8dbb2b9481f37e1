/**
 * The plain mediasoup page of the join benchmark's reference, as a first mediasoup app would be
 * written well: preview the camera; on Join, open the WebSocket, load the device, create both
 * transports at once, then produce and consume every producer in the room side by side (resuming
 * each consumer), as our client does. Same page contract as the
 * meeting UI for the benchmark: a `Join` button, `video[aria-label=<name>]` per remote peer and
 * `sb:` performance marks.
 */
import { Device, type types } from 'mediasoup-client';
// The same camera and simulcast layers as ours (a plain page that sends HD would use them too).
import { cameraEncodings } from '../../common/protocol/src/media';

const name = new URLSearchParams(location.search).get('name') ?? 'anonymous';
const room = location.pathname.split('/')[2] ?? 'default';
const mark = (what: string) => performance.mark(`sb:${what}`);

const preview = document.querySelector<HTMLVideoElement>('#preview')!;
const button = document.querySelector<HTMLButtonElement>('#join')!;
const remotes = document.querySelector<HTMLDivElement>('#remotes')!;

const stream = await navigator.mediaDevices.getUserMedia({
  audio: true,
  video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24 } },
});
preview.srcObject = stream;
button.disabled = false;

button.addEventListener('click', () => void join(), { once: true });

interface ProducerNotice {
  producerId: string;
  name: string;
}

async function join(): Promise<void> {
  mark('join');
  button.disabled = true;
  mark('→ websocket');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  const pending = new Map<number, (answer: { ok: boolean; data: unknown; error?: string }) => void>();
  let nextId = 1;
  const request = <T>(method: string, data: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (answer) => {
        mark(`← ${method}`);
        if (answer.ok) {
          resolve(answer.data as T);
        } else {
          reject(new Error(answer.error));
        }
      });
      mark(`→ ${method}`);
      ws.send(JSON.stringify({ id, method, data }));
    });
  // Set once the receiving transport exists; producers announced before then wait.
  let recv: types.Transport | undefined = undefined;
  const device = new Device();
  const waiting: ProducerNotice[] = [];
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as
      | { id: number; ok: boolean; data: unknown; error?: string }
      | { notification: 'newProducer'; data: ProducerNotice };
    if ('id' in message) {
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    } else if (recv) {
      void consume(message.data);
    } else {
      waiting.push(message.data);
    }
  });
  await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
  mark('← websocket');
  mark('connected');

  const { rtpCapabilities, producers } = await request<{
    rtpCapabilities: types.RtpCapabilities;
    producers: ProducerNotice[];
  }>('join', { room, name });
  await device.load({ routerRtpCapabilities: rtpCapabilities });
  mark('joined');

  // Both transports at once, then producing and consuming side by side (what our client does, so
  // the reference is a good plain page, not a slow one).
  const [sendParams, recvParams] = await Promise.all([
    request<types.TransportOptions>('createTransport'),
    request<types.TransportOptions>('createTransport'),
  ]);
  const send = device.createSendTransport(sendParams);
  send.on('connect', ({ dtlsParameters }, callback, errback) => {
    request('connect', { transportId: send.id, dtlsParameters }).then(callback, errback);
  });
  send.on('produce', ({ kind, rtpParameters }, callback, errback) => {
    request<{ id: string }>('produce', { transportId: send.id, kind, rtpParameters }).then(callback, errback);
  });
  recv = device.createRecvTransport(recvParams);
  const receiving = recv;
  send.on('connectionstatechange', (state) => mark(`sending ${state}`));
  receiving.on('connectionstatechange', (state) => mark(`receiving ${state}`));
  receiving.on('connect', ({ dtlsParameters }, callback, errback) => {
    request('connect', { transportId: receiving.id, dtlsParameters }).then(callback, errback);
  });
  mark('transports');

  const videos = new Map<string, HTMLVideoElement>();
  async function consume(producer: ProducerNotice): Promise<void> {
    const params = await request<types.ConsumerOptions>('consume', {
      transportId: receiving.id,
      producerId: producer.producerId,
      rtpCapabilities: device.rtpCapabilities,
    });
    const consumer = await receiving.consume(params);
    let video = videos.get(producer.name);
    if (!video) {
      video = document.createElement('video');
      video.autoplay = true;
      video.playsInline = true;
      video.setAttribute('aria-label', producer.name);
      remotes.append(video);
      videos.set(producer.name, video);
    }
    const tracks = (video.srcObject as MediaStream | null)?.getTracks() ?? [];
    video.srcObject = new MediaStream([...tracks, consumer.track]);
    await request('resume', { consumerId: consumer.id });
    mark(`consuming ${consumer.kind} of ${producer.name}`);
  }
  await Promise.all([
    ...stream
      .getTracks()
      .map((track) =>
        send.produce(
          track.kind === 'video'
            ? { track, encodings: cameraEncodings(track.getSettings().height) }
            : { track },
        ),
      ),
    ...[...producers, ...waiting.splice(0)].map(consume),
  ]);
}
