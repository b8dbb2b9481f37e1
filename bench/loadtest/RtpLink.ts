/**
 * The cheapest WebRTC endpoint that a mediasoup WebRtcTransport accepts, for the capacity bench:
 * one UDP socket that does ICE (a controlling agent's STUN binding requests to the ICE-lite
 * server, repeated as consent), DTLS as the client (werift's DTLS, in TypeScript) and then either
 * sends SRTP (werift's SRTP session, for the few publishers) or counts the RTP it receives from
 * the clear RTP header alone: no decryption, no jitter buffer, no decoder. That is what lets one
 * core of load generator keep a worker core saturated.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import {
  CipherContext,
  classes,
  DtlsClient,
  keyLength,
  Message,
  methods,
  NamedCurveAlgorithm,
  parseMessage,
  ProtectionProfileAeadAes128Gcm,
  RtpHeader,
  saltLength,
  SignatureAlgorithm,
  HashAlgorithm,
  SrtpSession,
  type Extension,
} from 'werift';

/** What a mediasoup transport tells its client (the parts the link uses). */
export interface ServerTransport {
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: { ip?: string; address?: string; port: number; protocol: string }[];
  dtlsParameters: { fingerprints: { algorithm: string; value: string }[] };
}

/** RTP counted per SSRC from sequence numbers: what arrived and what should have. */
interface StreamCount {
  first: number;
  /** Highest extended sequence number seen. */
  max: number;
  packets: number;
  bytes: number;
}

export interface Counted {
  packets: number;
  /** Expected minus received (from the sequence numbers' span); never negative per stream. */
  lost: number;
  bytes: number;
}

const CONSENT_EVERY_MS = 2000;
const CONNECT_TIMEOUT_MS = 15_000;

let certificate: Promise<{ certPem: string; keyPem: string; fingerprint: string }> | undefined;

/** A certificate's SHA-256 fingerprint as DTLS parameters write it (upper-case hex pairs, colons). */
function sha256Fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** One self-signed ECDSA certificate for every link of the process (as a browser keeps one). */
function localCertificate(): Promise<{ certPem: string; keyPem: string; fingerprint: string }> {
  certificate ??= CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  ).then(({ certPem, keyPem }) => {
    const der = Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    return { certPem, keyPem, fingerprint: sha256Fingerprint(der) };
  });
  return certificate;
}

export class RtpLink {
  readonly #socket: dgram.Socket;
  readonly #remote: { address: string; port: number };
  readonly #ice: { username: string; password: Buffer };
  readonly #streams = new Map<number, StreamCount>();
  #dtlsInput: (data: Buffer) => void = () => {};
  #srtp?: SrtpSession;
  #consent?: ReturnType<typeof setInterval>;
  #iceConnected?: () => void;
  #closed = false;

  private constructor(socket: dgram.Socket, server: ServerTransport) {
    const udp = server.iceCandidates.find((c) => c.protocol === 'udp');
    if (!udp) {
      throw new Error('the transport offers no UDP candidate');
    }
    this.#socket = socket;
    this.#remote = { address: udp.address ?? udp.ip ?? '127.0.0.1', port: udp.port };
    const localUfrag = randomBytes(4).toString('hex');
    this.#ice = {
      username: `${server.iceParameters.usernameFragment}:${localUfrag}`,
      password: Buffer.from(server.iceParameters.password),
    };
    socket.on('message', (data) => this.#receive(data));
  }

  /** Our DTLS parameters for the server's `connect` (client role, our certificate's fingerprint). */
  static async dtlsParameters(): Promise<{
    role: 'client';
    fingerprints: { algorithm: 'sha-256'; value: string }[];
  }> {
    return {
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: (await localCertificate()).fingerprint }],
    };
  }

  /**
   * Binds a socket and runs ICE then DTLS with the server transport. Call it after the server
   * side's `connect` (mediasoup starts DTLS once it knows its role).
   */
  static async open(server: ServerTransport): Promise<RtpLink> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // Bursts of a few hundred packets arrive between two reads when the generator is busy.
    socket.setRecvBufferSize(1 << 20);
    const link = new RtpLink(socket, server);
    try {
      await link.#connect(server);
    } catch (error) {
      link.close();
      throw error;
    }
    return link;
  }

  async #connect(server: ServerTransport): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ICE/DTLS did not connect in time')), CONNECT_TIMEOUT_MS);
    });
    try {
      await this.#handshake(server, timeout);
    } finally {
      clearTimeout(timer);
    }
  }

  /** ICE, then DTLS, then the SRTP session from DTLS's keys; rejects with `timeout`. */
  async #handshake(server: ServerTransport, timeout: Promise<never>): Promise<void> {
    const iceConnected = new Promise<void>((resolve) => (this.#iceConnected = resolve));
    this.#sendBinding();
    this.#consent = setInterval(() => this.#sendBinding(), CONSENT_EVERY_MS);
    await Promise.race([iceConnected, timeout]);
    const cert = await localCertificate();
    // DTLS records go out on the ICE socket; DtlsClient sets `onData` to take the incoming ones.
    const transport = {
      type: 'udp',
      address: { address: '127.0.0.1', port: this.#socket.address().port, family: 'IPv4' },
      closed: false,
      onData: (_data: Buffer, _from: unknown) => {},
      send: async (data: Buffer) => void this.#socket.send(data, this.#remote.port, this.#remote.address),
      close: async () => {},
    };
    const dtls = new DtlsClient({
      cert: cert.certPem,
      key: cert.keyPem,
      signatureHash: { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
      srtpProfiles: [ProtectionProfileAeadAes128Gcm],
      extendedMasterSecret: true,
      transport: transport as never,
    });
    this.#dtlsInput = (data) => transport.onData(data, this.#remote);
    const connected = new Promise<void>((resolve, reject) => {
      dtls.onConnect.once(() => resolve());
      dtls.onError.once((error) => reject(error));
    });
    await Promise.race([dtls.connect().then(() => connected), timeout]);
    const theirs = server.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')?.value;
    const remote = dtls.remoteCertificate;
    const seen = remote && sha256Fingerprint(remote);
    if (!theirs || seen !== theirs.toUpperCase()) {
      throw new Error('the server certificate does not match its fingerprint');
    }
    const profile = dtls.srtp.srtpProfile!;
    const keys = dtls.extractSessionKeys(keyLength(profile), saltLength(profile));
    this.#srtp = new SrtpSession({
      profile,
      keys: {
        localMasterKey: keys.localKey,
        localMasterSalt: keys.localSalt,
        remoteMasterKey: keys.remoteKey,
        remoteMasterSalt: keys.remoteSalt,
      },
    });
  }

  #sendBinding(): void {
    const request = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute('USERNAME', this.#ice.username)
      .setAttribute('PRIORITY', 0x6e0001ff)
      .setAttribute('ICE-CONTROLLING', randomBytes(8).readBigUInt64BE())
      .setAttribute('USE-CANDIDATE', null)
      .addMessageIntegrity(this.#ice.password)
      .addFingerprint();
    this.#socket.send(request.bytes, this.#remote.port, this.#remote.address);
  }

  #receive(data: Buffer): void {
    const first = data[0];
    if (first >= 128 && first <= 191) {
      const type = data[1];
      // RTCP (payload types 192-223 with the marker bit) is not counted.
      if (type < 192 || type > 223) {
        this.#count(data);
      }
    } else if (first >= 20 && first <= 63) {
      this.#dtlsInput(data);
    } else if (first <= 3 && this.#iceConnected) {
      const message = parseMessage(data);
      if (message?.messageClass === classes.RESPONSE) {
        this.#iceConnected();
        this.#iceConnected = undefined;
      }
    }
  }

  #count(data: Buffer): void {
    const ssrc = data.readUInt32BE(8);
    const seq = data.readUInt16BE(2);
    const stream = this.#streams.get(ssrc);
    if (!stream) {
      this.#streams.set(ssrc, { first: seq, max: seq, packets: 1, bytes: data.length });
      return;
    }
    stream.packets++;
    stream.bytes += data.length;
    // Extend the 16-bit sequence number around the highest seen (wraps and reordering).
    let delta = seq - (stream.max & 0xffff);
    if (delta < -0x8000) {
      delta += 0x10000;
    } else if (delta > 0x8000) {
      delta -= 0x10000;
    }
    if (delta > 0) {
      stream.max += delta;
    }
  }

  /**
   * Stops reading the socket: what arrives from then on is dropped by the kernel once the
   * socket's buffer is full, as a network card would take it, at no cost to this process. The
   * consent requests go on, so the SFU keeps sending. (Node has no public call for it: the
   * socket's handle is reached through its one internal state symbol.)
   */
  stopReading(): void {
    const state = Object.getOwnPropertySymbols(this.#socket)
      .map((symbol) => (this.#socket as unknown as Record<symbol, unknown>)[symbol])
      .find((value): value is { handle: { recvStop(): void } } =>
        Boolean((value as { handle?: { recvStop?: unknown } } | undefined)?.handle?.recvStop),
      );
    if (!state) {
      throw new Error("this Node's dgram socket has no handle to stop reading");
    }
    state.handle.recvStop();
  }

  /** What this link received so far, over all its streams. */
  counted(): Counted {
    const total: Counted = { packets: 0, lost: 0, bytes: 0 };
    for (const s of this.#streams.values()) {
      total.packets += s.packets;
      total.bytes += s.bytes;
      total.lost += Math.max(0, s.max - s.first + 1 - s.packets);
    }
    return total;
  }

  /** Sends one RTP packet, SRTP-protected. */
  sendRtp(
    header: {
      payloadType: number;
      sequenceNumber: number;
      timestamp: number;
      ssrc: number;
      marker: boolean;
      extensions?: Extension[];
    },
    payload: Buffer,
  ): void {
    if (!this.#srtp || this.#closed) {
      return;
    }
    const extensions = header.extensions ?? [];
    const rtp = new RtpHeader({
      ...header,
      extension: extensions.length > 0,
      extensionProfile: 0xbede,
      extensions,
    });
    this.#socket.send(this.#srtp.encrypt(payload, rtp), this.#remote.port, this.#remote.address);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#consent);
    this.#socket.close();
  }
}
