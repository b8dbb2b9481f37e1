/**
 * The edge as a browser or an attacker meets it: the native stack's real NGINX in front of the real
 * services. Operator-only locations (log viewer, its API and live stream, metrics) ask the gateway
 * (auth_request); every response carries the security headers; NGINX hides its version, its
 * workers do not run as root, and it rate limits at the edge. The config renderer refuses Consul
 * registrations whose address could inject directives.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  newAccount,
  randomAddress,
  startConsul,
  testDatabaseUrl,
  testRedisUrl,
} from '@switchboard/testing';
import { ConsulClient } from '@switchboard/consul';
import { PermissionDeniedError } from '@switchboard/errors';
import { renderNginxConfig, upstreamServer } from '../nginx/render';
import { ROOT, Stack, type StackPorts } from '../scripts/Stack';

// Below the kernel's ephemeral range (32768+), where a test's fixed port could be taken by any
// outgoing connection or by another suite's free-port pick running in parallel.
const PORTS: StackPorts = {
  http: 26080,
  https: 26443,
  consulHttp: 26500,
  consulDns: 26600,
  consulSerfLan: 26301,
  consulServer: 26300,
  consulGrpc: 26502,
  ui: 26030,
  gateway: 26040,
  signaling: 26041,
  logViewer: 26042,
  events: 26043,
  signalingApi: 26044,
  mediaGrpc: 26051,
  mediaMetrics: 26101,
  rtcMin: 28700,
  rtcMax: 28799,
  prometheus: 26090,
  alertmanager: 26093,
  grafana: 26001,
  turn: 26478,
  turnRelayMin: 26700,
  turnRelayMax: 26720,
};
/** The status of a GET to the edge from a given local (loopback) source address. */
function statusFrom(localAddress: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: PORTS.http, path, localAddress }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const OPERATOR = `edge-ops-${Date.now().toString(36)}@example.test`;
const AUTH_PER_MINUTE = 5;
const OPERATOR_ONLY = ['/logs/', '/logs/api/search?q=x', '/logs/api/stream', '/metrics'];

describe('the NGINX edge (real NGINX, gateway, log viewer)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      ports: PORTS,
      runDir: join(ROOT, '.run/edge-test'),
      databaseUrl: testDatabaseUrl(),
      redisUrl: testRedisUrl(),
      prometheus: false,
      mediaWorkers: 1,
      log: () => {},
      // A small per-address auth budget, so the limiter test below reaches it before NGINX's own.
      env: { SWITCHBOARD_OPERATOR_EMAILS: OPERATOR, AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_PER_MINUTE) },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  const client = () => new ApiClient(stack.url, { address: randomAddress() });

  it('answers operator-only locations with 401 without a session and 403 for other accounts', async () => {
    const anonymous = client();
    for (const path of OPERATOR_ONLY) {
      const response = await anonymous.request('GET', path);
      expect(response.status, path).toBe(401);
      expect(await response.text(), path).toContain('/signin?next=/logs/');
    }
    const member = client();
    expect((await member.request('POST', '/api/auth/register', newAccount('Member'))).status).toBe(201);
    for (const path of OPERATOR_ONLY) {
      const response = await member.request('GET', path);
      expect(response.status, path).toBe(403);
      expect(await response.text()).toContain('not an operator');
    }
    // A forged cookie is no session.
    const forger = client();
    forger.setCookie('sb_at', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.');
    expect((await forger.request('GET', '/logs/api/search?q=x')).status).toBe(401);
  });

  it('serves the log viewer, its API and metrics to an operator', async () => {
    const ops = client();
    expect(
      (await ops.request('POST', '/api/auth/register', { ...newAccount('Ops'), email: OPERATOR })).status,
    ).toBe(201);
    const page = await ops.request('GET', '/logs/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>');
    const search = await ops.request('GET', '/logs/api/search?q=gateway&limit=5');
    expect(search.status).toBe(200);
    expect(((await search.json()) as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
    const metrics = await ops.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('switchboard_ui_requests_total');
    // After logout the same cookies open nothing.
    await ops.request('POST', '/api/auth/logout');
    expect((await ops.request('GET', '/logs/')).status).toBe(401);
  });

  it('sends the security headers on pages, API answers and refusals, and hides its version', async () => {
    for (const path of ['/', '/signin', '/api/health', '/api/rooms/no-such-room', '/logs/']) {
      const response = await fetch(`${stack.url}${path}`);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("object-src 'none'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('server'), path).toBe('nginx'); // server_tokens off: no version
    }
  });

  it("allows no inline script but each page's own, with a nonce new on every request", async () => {
    for (const path of ['/api/health', '/logs/', '/nginx-health', '/api/rooms/no-such-room']) {
      const csp = (await fetch(`${stack.url}${path}`)).headers.get('content-security-policy') ?? '';
      // Script from this origin only: no inline script, no eval.
      expect(/script-src ([^;]+)/.exec(csp)?.[1], path).toBe("'self'");
    }
    const nonces: string[] = [];
    for (const path of ['/', '/signin', '/r/some-room']) {
      const response = await fetch(`${stack.url}${path}`, {
        // A client cannot choose the nonce by sending a policy of its own.
        headers: { 'content-security-policy': "script-src 'nonce-chosen-by-client'" },
      });
      const policies = response.headers.get('content-security-policy') ?? '';
      // One policy (the page's), not NGINX's default beside it.
      expect(policies.match(/default-src/g), path).toHaveLength(1);
      const scriptSrc = /script-src ([^;]+)/.exec(policies)?.[1] ?? '';
      expect(scriptSrc, path).not.toContain('unsafe-inline');
      const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1] ?? '';
      expect(nonce, path).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
      nonces.push(nonce);
      const html = await response.text();
      const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((m) => m[1]);
      expect(inline.length, path).toBeGreaterThan(0);
      for (const attributes of inline) {
        expect(attributes, path).toContain(`nonce="${nonce}"`);
      }
    }
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it('serves the blur and noise suppression WebAssembly from its own packages, and only the listed files', async () => {
    const wasm = await fetch(`${stack.url}/vendor/noise-suppressor/rnnoise_simd.wasm`);
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    const bytes = Buffer.from(await wasm.arrayBuffer());
    const shipped = readFileSync(
      join(ROOT, 'node_modules/@sapphi-red/web-noise-suppressor/dist/rnnoise_simd.wasm'),
    );
    expect(bytes.equals(shipped)).toBe(true);
    const model = await fetch(`${stack.url}/vendor/selfie-segmentation/selfie_segmentation_landscape.tflite`);
    expect(model.status).toBe(200);
    expect((await model.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    const worklet = await fetch(`${stack.url}/vendor/noise-suppressor/rnnoise-worklet.js`);
    expect(worklet.headers.get('content-type')).toContain('text/javascript');
    for (const path of [
      '/vendor/noise-suppressor/package.json',
      '/vendor/selfie-segmentation/../../package.json',
      '/vendor/%2e%2e/ui/package.json',
      '/vendor/',
    ]) {
      expect((await fetch(`${stack.url}${path}`)).status, path).toBe(404);
    }
    // Read only: another method on a listed file is not served.
    const post = await fetch(`${stack.url}/vendor/noise-suppressor/rnnoise.wasm`, { method: 'POST' });
    expect(post.status).toBe(404);
    // The pages may compile WebAssembly, never eval JavaScript.
    const csp = (await fetch(`${stack.url}/`)).headers.get('content-security-policy') ?? '';
    const scriptSrc = /script-src ([^;]+)/.exec(csp)?.[1] ?? '';
    expect(scriptSrc).toContain("'wasm-unsafe-eval'");
    expect(scriptSrc).not.toMatch(/'unsafe-eval'/);
  });

  it('runs the NGINX workers as an unprivileged user', () => {
    const master = stack.pid('nginx');
    expect(master).toBeGreaterThan(0);
    const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(master)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    expect(workers.length).toBeGreaterThan(0);
    for (const pid of workers) {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      expect(Number(uid), `worker ${pid}`).not.toBe(0);
    }
  });

  it('meets percent-encoded API paths with the same CSRF check and limits as plain ones', async () => {
    const member = client();
    expect((await member.request('POST', '/api/auth/register', newAccount('Encoder'))).status).toBe(201);
    // NGINX routes `/%61pi/rooms` to the gateway as it came; the gateway's router decodes it.
    for (const path of ['/api/rooms', '/%61pi/rooms', '/api/%72ooms', '/%61%70%69/rooms']) {
      const response = await member.request('POST', path, { name: 'x' }, { csrf: false });
      expect(response.status, path).toBe(403);
      expect(((await response.json()) as { message: string }).message, path).toMatch(/x-switchboard-request/);
    }
    const created = await member.request('POST', '/%61pi/rooms', { name: 'with the header' });
    expect(created.status).toBe(201);
    // The login limiter counts encoded and plain logins together, per address.
    // (A new email each time: the per-account lockout is not what this measures.)
    const guesser = client();
    const answers: { status: number; message: string }[] = [];
    for (let i = 0; i < AUTH_PER_MINUTE + 2; i++) {
      const path = i % 2 === 0 ? '/api/auth/logi%6e' : '/api/auth/login';
      const body = { email: newAccount().email, password: 'wrong password, surely' };
      const response = await guesser.request('POST', path, body);
      answers.push({
        status: response.status,
        message: ((await response.json()) as { message: string }).message,
      });
    }
    expect(answers.map((a) => a.status)).toEqual([...Array<number>(AUTH_PER_MINUTE).fill(401), 429, 429]);
    expect(answers.at(-2)?.message).toMatch(/too many requests from your address/);
  });

  it('serves the same site over HTTPS with HSTS and Secure cookies, and neither over plain HTTP', async () => {
    expect(stack.tls?.selfSigned).toBe(true);
    // Checked against the self-signed certificate (made for localhost on first start).
    const secure = new ApiClient(stack.httpsUrl, {
      address: randomAddress(),
      ca: readFileSync(stack.tls!.certificate),
    });
    const health = await secure.request('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect(health.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await secure.request('POST', '/api/auth/register', newAccount('Tls'))).status).toBe(201);
    expect(secure.setCookieLines.get('sb_at')).toMatch(/;\s*Secure/i);
    expect(secure.setCookieLines.get('sb_refresh')).toMatch(/;\s*Secure/i);
    const page = await secure.request('GET', '/');
    expect(page.status).toBe(200);
    // An unknown CA is refused by a client that checks (the certificate is not a public one).
    await expect(fetch(`${stack.httpsUrl}/api/health`)).rejects.toThrow();

    // Plain HTTP: no HSTS, no Secure cookie, even when the client claims it came over TLS.
    const plain = client();
    const claimed = { 'x-forwarded-proto': 'https' };
    const answer = await plain.request('POST', '/api/auth/register', newAccount('Plain'), {
      headers: claimed,
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('strict-transport-security')).toBeNull();
    expect(plain.setCookieLines.get('sb_at')).toBeDefined();
    expect(plain.setCookieLines.get('sb_at')).not.toMatch(/Secure/i);
  });

  it('counts a client by the address NGINX saw, whatever X-Forwarded-For it sends', async () => {
    const guesser = client();
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_PER_MINUTE + 2; i++) {
      const body = { email: newAccount().email, password: 'wrong password, surely' };
      // A new forged chain each time: were it believed, every guess would be a new address.
      const forged = {
        'x-forwarded-for': `203.0.113.${i + 1}, 10.9.8.${i + 1}`,
        'x-real-ip': `198.51.100.${i + 1}`,
      };
      statuses.push((await guesser.request('POST', '/api/auth/login', body, { headers: forged })).status);
    }
    expect(statuses).toEqual([...Array<number>(AUTH_PER_MINUTE).fill(401), 429, 429]);
  });

  it("runs Consul with ACLs: nothing without a token, and each service's token only for itself", async () => {
    const anonymous = new ConsulClient(`127.0.0.1:${PORTS.consulHttp}`);
    expect(await anonymous.instances('gateway')).toEqual([]);
    const rogue = {
      id: 'rogue-ui',
      name: 'ui',
      address: '127.0.0.1',
      port: 9,
      check: { tcp: '127.0.0.1:9' },
    };
    await expect(anonymous.register(rogue)).rejects.toBeInstanceOf(PermissionDeniedError);
    // The token the launcher gave the running gateway (read from its environment).
    const environ = readFileSync(`/proc/${stack.pid('gateway')}/environ`, 'utf8').split('\0');
    const token = environ
      .find((entry) => entry.startsWith('CONSUL_HTTP_TOKEN='))
      ?.slice('CONSUL_HTTP_TOKEN='.length);
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect(token).not.toBe(stack.consulManagementToken);
    const gateway = new ConsulClient(`127.0.0.1:${PORTS.consulHttp}`, { token });
    expect((await gateway.instances('media', { passingOnly: true })).length).toBe(1);
    await expect(gateway.register(rogue)).rejects.toBeInstanceOf(PermissionDeniedError);
    const [media] = await stack.consul.instances('media');
    await expect(gateway.deregister(media.id)).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(await stack.consul.instances('media', { passingOnly: true })).toHaveLength(1);
  });

  it('rate limits a burst at the edge with 429 while another client is served', async () => {
    const burst = Promise.all(
      Array.from({ length: 300 }, () => fetch(`${stack.url}/api/rooms/no-such-room`).then((r) => r.status)),
    );
    // NGINX limits by the connecting address: a client connecting from 127.0.0.2 during the burst
    // is served.
    const other = await statusFrom('127.0.0.2', '/api/rooms/no-such-room');
    const statuses = await burst;
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThan(50);
    expect(other).toBe(404);
  }, 30_000);
});

describe('the NGINX config renderer', () => {
  it('accepts only plain hostnames, IPv4/IPv6 addresses and ports in range', () => {
    expect(upstreamServer('127.0.0.1', 4000)).toBe('127.0.0.1:4000');
    expect(upstreamServer('gateway', 4000)).toBe('gateway:4000');
    expect(upstreamServer('media-1.internal', 50051)).toBe('media-1.internal:50051');
    expect(upstreamServer('::1', 4000)).toBe('[::1]:4000');
    for (const [address, port] of [
      ['127.0.0.1;\n}\nserver { listen 81; root /', 4000],
      ['evil.example include /etc/passwd', 80],
      ['127.0.0.1', 0],
      ['127.0.0.1', 70_000],
      ['', 80],
      ['a'.repeat(300), 80],
      ['host_with_underscore', 80],
      ['127.0.0.1:80', 81],
    ] as const) {
      expect(upstreamServer(address, port), JSON.stringify(address)).toBeUndefined();
    }
  });

  it('leaves a rogue Consul registration out of nginx.conf and reports it', async () => {
    const consul = await startConsul();
    try {
      const rogue = '127.0.0.1:1; } server { listen 8081; location / { proxy_pass http://attacker';
      for (const [id, address] of [
        ['ui-ok', '127.0.0.1'],
        ['ui-rogue', rogue],
      ]) {
        const response = await fetch(`http://${consul.addr}/v1/agent/service/register`, {
          method: 'PUT',
          body: JSON.stringify({
            ID: id,
            Name: 'ui',
            Address: address,
            Port: 3000,
            Check: { TTL: '60s', Status: 'passing' },
          }),
        });
        expect(response.status).toBe(200);
      }
      const rejected: string[] = [];
      const config = await renderNginxConfig(consul.client, {
        prefix: '/tmp/sb-render-test',
        listen: '8080',
        onRejected: (service, address) => rejected.push(`${service} ${address}`),
      });
      expect(config).toContain('server 127.0.0.1:3000 max_fails=1 fail_timeout=5s;');
      expect(config).not.toContain('attacker');
      expect(rejected).toEqual([`ui ${rogue}`]);
    } finally {
      await consul.close();
    }
  });
});
