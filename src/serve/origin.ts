// `serve`: a read-only HTTP origin over the pools, so a player can play a stream from wherever its
// segments are now. GET/HEAD of a layout key serve it from the first pool (in read order) that holds
// it; /<stream>/vod.m3u8 is a VOD playlist over the stored segments; / lists the streams and
// /<stream>/ plays one with hls.js; /metrics is Prometheus text. Nothing outside the layout is
// served (no `..`, no reserved keys, no files of no stream), and nothing is ever written.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isStorageError, StorageError } from '../errors.js';
import { keyProblem, RESERVED_PREFIX } from '../keys.js';
import type { StoragePool } from '../pool/pool.js';
import type { SegmentStorage } from '../segments/segment-storage.js';
import { OriginMetrics } from './metrics.js';
import { cacheControlOf, contentTypeOf, etagOf, parseRange } from './http.js';
import { indexPage, streamPage, HLS_JS_PATH, hlsJsSource } from './page.js';
import { buildVod } from '../segments/vod.js';
import type { SegmentTiming } from '../media/timing.js';

export interface OriginOptions {
  storage: SegmentStorage;
  /** Serve from this pool alone. */
  pool?: string | undefined;
  host: string;
  port: number;
  /** One line per request (method, path, status, bytes, ms), for --verbose. */
  log?: ((line: string) => void) | undefined;
}

/** Kinds of file the origin serves; producers' temporary files and unknown files are not. */
const SERVED_KINDS = new Set(['segment', 'playlist', 'init', 'master']);
/** How often the per-pool object and byte counts of /metrics are refreshed. */
const CENSUS_EVERY_MS = 60_000;

export class Origin {
  private readonly options: OriginOptions;
  private readonly server: Server;
  private readonly metrics = new OriginMetrics();
  /** Measured segment timings, by key and version, for VOD playlists. */
  private readonly timings = new Map<string, SegmentTiming>();
  private censusTimer: NodeJS.Timeout | undefined;
  private censusRunning: Promise<void> | undefined;

  constructor(options: OriginOptions) {
    this.options = options;
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
    // Players keep connections open; a stop must not wait for their idle ones.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Listens; resolves with the URL it serves at. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new StorageError('InvalidArgument', `cannot listen on ${this.options.host}:${this.options.port}: ${error.code ?? error.message}`, { cause: error })),
      );
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.censusTimer = setInterval(() => void this.refreshCensus(), CENSUS_EVERY_MS);
    this.censusTimer.unref();
    void this.refreshCensus();
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops accepting; responses under way finish; idle keep-alive connections are closed. */
  async close(): Promise<void> {
    clearInterval(this.censusTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
    await this.censusRunning;
  }

  private pools(): readonly StoragePool[] {
    return this.options.storage.manager.poolsFor(this.options.pool);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    let bytes = 0;
    const send = (status: number, headers: Record<string, string | number>, body?: Buffer | string): void => {
      const data = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
      response.writeHead(status, { ...headers, ...(data === undefined || 'Content-Length' in headers ? {} : { 'Content-Length': data.length }) });
      if (request.method === 'HEAD' || data === undefined) response.end();
      else {
        bytes = data.length;
        response.end(data);
      }
    };
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }, 'read-only: GET and HEAD only\n');
      const url = new URL(request.url ?? '/', 'http://origin');
      const path = decodePath(url.pathname);
      if (path === undefined) return send(400, { 'Content-Type': 'text/plain' }, 'bad path\n');
      if (path === '') return await this.sendIndex(request, send);
      if (path === 'metrics') return send(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Cache-Control': 'no-cache' }, this.metrics.render(this.pools()));
      if (path === HLS_JS_PATH) return send(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'public, max-age=86400' }, await hlsJsSource());
      const vod = /^(.+)\/vod\.m3u8$/.exec(path);
      // A stored file of that name (ffmpeg's `cam1/vod.m3u8`, SRS's stream `live/vod`) is served as it is.
      if (vod !== null && this.isStream(vod[1]!) && !(await this.holds(path))) {
        const { text } = await buildVod(this.options.storage, vod[1]!, {
          from: url.searchParams.get('from') ?? undefined,
          to: url.searchParams.get('to') ?? undefined,
          pool: this.options.pool,
          uri: (key) => `/${encodeKey(key)}`,
          cache: this.timings,
        });
        return send(200, { 'Content-Type': contentTypeOf('vod.m3u8'), 'Cache-Control': 'no-cache' }, text);
      }
      if (path.endsWith('/') && (this.isStream(path.slice(0, -1)) || this.isGroup(path.slice(0, -1)))) {
        const stream = path.slice(0, -1);
        const live = await this.livePlaylist(stream);
        const vodPath = this.isStream(stream) ? `/${encodeKey(stream)}/vod.m3u8` : undefined;
        return send(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }, streamPage(stream, `/${encodeKey(live)}`, vodPath));
      }
      await this.sendObject(path, request, response, send, (n) => (bytes = n));
    } catch (error) {
      const status = isStorageError(error, 'NotFound') ? 404 : isStorageError(error, 'InvalidArgument') || isStorageError(error, 'InvalidKey') ? 400 : 503;
      const message = status === 503 ? 'a pool could not answer; try again\n' : `${isStorageError(error) ? error.detail : 'error'}\n`;
      if (!response.headersSent) send(status, { 'Content-Type': 'text/plain', 'Retry-After': status === 503 ? 2 : 0 }, message);
      else response.destroy();
    } finally {
      response.once('close', () => {
        this.metrics.countResponse(response.statusCode, bytes);
        this.options.log?.(`${request.method} ${request.url} ${response.statusCode} ${bytes} ${Math.round(performance.now() - started)}ms`);
      });
    }
  }

  private isStream(stream: string): boolean {
    try {
      this.options.storage.layout.assertStream(stream);
      return true;
    } catch {
      return false;
    }
  }

  /** A group of the layout's listing that is not a stream: the master playlists of a variant layout's `cam1`. */
  private isGroup(name: string): boolean {
    try {
      this.options.storage.layout.groupPrefix(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether a pool holds `key` as a file the origin serves. */
  private async holds(key: string): Promise<boolean> {
    const parsed = this.options.storage.layout.parse(key);
    if (parsed === undefined || !SERVED_KINDS.has(parsed.kind)) return false;
    return (await this.options.storage.manager.locate(key, this.options.pool === undefined ? {} : { pool: this.options.pool })).found.length > 0;
  }

  /**
   * The playlist a stream's page plays: the stream's own (or, for a group, its master), as stored.
   * The template's name is tried first; producers that choose the name (ffmpeg's `out.m3u8`,
   * `master.m3u8`) are found by a listing of the folder. The template's name when none is stored.
   */
  private async livePlaylist(stream: string): Promise<string> {
    const { layout, manager } = this.options.storage;
    const group = !this.isStream(stream);
    const named = group ? layout.masterKey(stream)! : layout.playlistKey(stream);
    if (await this.holds(named)) return named;
    const { objects } = await manager.list(layout.groupPrefix(stream), this.options.pool === undefined ? {} : { pool: this.options.pool });
    for (const key of objects.keys()) {
      const parsed = layout.parse(key);
      if (parsed?.stream === stream && parsed.kind === (group ? 'master' : 'playlist')) return key;
    }
    return named;
  }

  private async sendIndex(request: IncomingMessage, send: (status: number, headers: Record<string, string | number>, body?: string) => void): Promise<void> {
    // Partial: a pool that cannot list is named on the page, not a reason to show nothing.
    const listing = await this.options.storage.listStreams({ partial: true, ...(this.options.pool === undefined ? {} : { pool: this.options.pool }) });
    const streams = listing.items.map((s) => ({ ...s, page: `/${encodeKey(s.stream)}/` }));
    const failures = listing.failures.map((f) => ({ pool: f.pool, code: f.error.code }));
    if ((request.headers.accept ?? '').includes('application/json')) {
      return send(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }, `${JSON.stringify({ streams, failures }, null, 2)}\n`);
    }
    send(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }, indexPage(streams, failures));
  }

  /** A layout key, from the first pool in read order that holds it; 404 when none does. */
  private async sendObject(
    key: string,
    request: IncomingMessage,
    response: ServerResponse,
    send: (status: number, headers: Record<string, string | number>, body?: Buffer) => void,
    counted: (bytes: number) => void,
  ): Promise<void> {
    const parsed = keyProblem(key) === undefined && !key.startsWith(RESERVED_PREFIX) ? this.options.storage.layout.parse(key) : undefined;
    if (parsed === undefined || !SERVED_KINDS.has(parsed.kind)) return send(404, { 'Content-Type': 'text/plain' }, Buffer.from('not found\n'));
    const { found, failures } = await this.options.storage.manager.locate(key, this.options.pool === undefined ? {} : { pool: this.options.pool });
    const holder = found[0];
    if (holder === undefined) {
      if (failures.length > 0) throw new StorageError('Unavailable', 'a pool could not answer');
      return send(404, { 'Content-Type': 'text/plain' }, Buffer.from('not found\n'));
    }
    const { info } = holder;
    const etag = etagOf(info);
    const headers: Record<string, string | number> = {
      'Content-Type': contentTypeOf(key),
      'Cache-Control': cacheControlOf(parsed.kind),
      ETag: etag,
      'Last-Modified': info.modified.toUTCString(),
      'Accept-Ranges': 'bytes',
    };
    if (request.headers['if-none-match'] === etag) return send(304, headers);
    const range = parseRange(request.headers.range, info.size);
    if (range === 'unsatisfiable') return send(416, { ...headers, 'Content-Range': `bytes */${info.size}` });
    const start = range?.start ?? 0;
    const end = range?.end ?? info.size - 1;
    const length = info.size === 0 ? 0 : end - start + 1;
    const status = range === undefined ? 200 : 206;
    const rangeHeader: Record<string, string> = range === undefined ? {} : { 'Content-Range': `bytes ${start}-${end}/${info.size}` };
    if (request.method === 'HEAD') return send(status, { ...headers, ...rangeHeader, 'Content-Length': length });
    // Bytes go from the store to the player as they arrive; a player that hangs up ends the read.
    const hangUp = new AbortController();
    response.once('close', () => hangUp.abort());
    const pool = this.options.storage.manager.pool(holder.pool);
    const chunks = pool.readStream(key, { start, end: Math.max(start, end), signal: hangUp.signal })[Symbol.asyncIterator]();
    // The first chunk comes before the headers, so an object deleted since the stat is still a 404.
    let next = length === 0 ? ({ done: true, value: undefined } as const) : await chunks.next();
    response.writeHead(status, { ...headers, ...rangeHeader, 'Content-Length': length });
    let sent = 0;
    try {
      for (; next.done !== true; next = await chunks.next()) {
        sent += next.value.length;
        if (!response.write(next.value)) await new Promise((resolve) => response.once('drain', resolve).once('close', resolve));
        if (response.destroyed) break;
      }
    } catch {
      // Headers are out: all that is left is to cut the response short, so the player sees it.
      counted(sent);
      response.destroy();
      return;
    } finally {
      await chunks.return?.();
    }
    counted(sent);
    response.end();
  }

  /** Counts each pool's objects and bytes under the layout, one listing at a time, for /metrics. */
  private refreshCensus(): Promise<void> {
    this.censusRunning ??= (async () => {
      for (const pool of this.pools()) {
        let objects = 0;
        let bytes = 0;
        try {
          for await (const info of pool.list(this.options.storage.layout.root)) {
            objects++;
            bytes += info.size;
          }
          this.metrics.setCensus(pool.name, { objects, bytes, at: new Date() });
        } catch {
          // The pool's health shows the failure; the last count stays.
        }
      }
    })().finally(() => (this.censusRunning = undefined));
    return this.censusRunning;
  }
}

/** The key a URL path names (`/hls/cam1/segment_1.ts` → `hls/cam1/segment_1.ts`); undefined when it does not decode. */
function decodePath(pathname: string): string | undefined {
  try {
    return pathname.slice(1).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
