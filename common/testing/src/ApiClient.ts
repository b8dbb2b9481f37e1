/**
 * A REST client for tests that behaves like the browser: keeps cookies (honouring their Path),
 * sends the CSRF header on state changes, and can connect from its own loopback address
 * (127.x.y.z), so throttles keyed by address do not leak between tests. The address is the
 * connection's own, not a header: NGINX and the services see it as they would a real client's.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export class ApiClient {
  readonly base: string;
  /** The loopback address requests come from (any of 127.0.0.0/8; default: the system's pick). */
  readonly address?: string;
  /** Certificate authorities an https base is checked against (a self-signed certificate). */
  readonly #ca?: string | Buffer;
  readonly #cookies = new Map<string, { value: string; path: string }>();

  constructor(base: string, options: { address?: string; ca?: string | Buffer } = {}) {
    if (options.address !== undefined && !options.address.startsWith('127.')) {
      throw new Error(`ApiClient: ${options.address} is not a loopback address (use randomAddress())`);
    }
    this.base = base;
    this.address = options.address;
    this.#ca = options.ca;
  }

  cookie(name: string): string | undefined {
    return this.#cookies.get(name)?.value;
  }

  /** The Set-Cookie lines of the last response that set `name` (attributes included). */
  readonly setCookieLines = new Map<string, string>();

  setCookie(name: string, value: string, path = '/'): void {
    this.#cookies.set(name, { value, path });
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    if (method !== 'GET' && method !== 'HEAD' && options.csrf !== false) {
      headers['x-switchboard-request'] = '1';
    }
    const cookies = [...this.#cookies]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`);
    if (cookies.length > 0) {
      headers.cookie = cookies.join('; ');
    }
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await this.#send(method, path, headers, payload);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const [name, ...rest] = pair.split('=');
      const value = rest.join('=');
      this.setCookieLines.set(name, line);
      const pathAttr = attributes.find((a) => a.toLowerCase().startsWith('path='));
      const expired = attributes.some((a) => /^expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) {
        this.#cookies.delete(name);
      } else {
        this.#cookies.set(name, { value, path: pathAttr ? pathAttr.slice(5) : '/' });
      }
    }
    return response;
  }

  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    options: { headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: T }> {
    const response = await this.request(method, path, body, options);
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** One request over node:http(s) (fetch cannot choose its source address); redirects not followed. */
  #send(method: string, path: string, headers: Record<string, string>, payload?: string): Promise<Response> {
    const url = new URL(`${this.base}${path}`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers:
            payload === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(payload) },
          localAddress: this.address,
          ca: this.#ca,
          agent: false,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const responseHeaders = new Headers();
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
            }
            const noBody = status === 204 || status === 304 || method === 'HEAD';
            resolve(
              new Response(noBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** A random loopback address other than 127.0.0.1 (for ApiClient's `address`). */
export function randomAddress(): string {
  const octet = () => 1 + Math.floor(Math.random() * 250);
  return `127.${octet()}.${octet()}.${octet()}`;
}
