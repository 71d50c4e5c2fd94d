// An OSS-protocol server for tests: node:http on 127.0.0.1, objects in memory per bucket (the bucket
// is the first label of the Host header, as ali-oss sends it for an IP endpoint), v1 signatures
// verified exactly, Content-MD5 checked, and every request recorded so tests can count them.
// It answers what ali-oss's put/get/head/delete/deleteMulti/listV2 send; anything else is 501.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyOssSignature } from './oss-signature.js';
import { xmlEscape, xmlUnescape } from './oss-xml.js';

export interface RecordedRequest {
  method: string;
  /** The raw (percent-encoded) path. */
  path: string;
  query: Record<string, string>;
}

export interface OssTestServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** A config `backend` object for this server; `extra` overrides or adds fields. */
  poolOptions(extra?: Record<string, unknown>): {
    type: 'oss';
    endpoint: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    accessKeySecret: string;
    [option: string]: unknown;
  };
  requests(): RecordedRequest[];
  resetRequests(): void;
  /** DeleteMultipleObjects will leave `key` in place and out of its answer (a fault to test with). */
  withholdDeletion(key: string): void;
  /** The next `count` requests are answered with this status (503 SlowDown, 500 InternalError...). */
  failNext(count: number, status: 500 | 503): void;
  /** Stops listening and drops every connection; objects and the port number are kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

interface StoredObject {
  data: Buffer;
  lastModified: Date;
  /** `"<MD5 HEX>"`, upper case and quoted, as real OSS sends it. */
  etag: string;
  contentType: string;
}

const REGION = 'oss-cn-hangzhou';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_KEYS = 1000;

class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

function md5(data: Buffer, encoding: 'hex' | 'base64'): string {
  return createHash('md5').update(data).digest(encoding);
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function checkContentMd5(req: http.IncomingMessage, body: Buffer, required: boolean): void {
  const given = req.headers['content-md5'];
  if (given === undefined) {
    if (required) throw new OssError(400, 'InvalidDigest', 'Content-MD5 is required for this request.');
    return;
  }
  if (given !== md5(body, 'base64')) throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
}

export async function startOssServer(): Promise<OssTestServer> {
  const bucket = 'flux-test';
  const accessKeyId = 'flux-test-key-id';
  const accessKeySecret = randomBytes(18).toString('base64url');
  const keys = new Map([[accessKeyId, accessKeySecret]]);
  const buckets = new Map<string, Map<string, StoredObject>>([[bucket, new Map()]]);
  let recorded: RecordedRequest[] = [];
  const withheld = new Set<string>();
  let failing: { count: number; status: 500 | 503 } = { count: 0, status: 503 };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = new Map(url.searchParams);
    const method = req.method ?? 'GET';
    recorded.push({ method, path: url.pathname, query: Object.fromEntries(query) });
    const body = await readBody(req);
    if (failing.count > 0) {
      failing.count--;
      throw failing.status === 503
        ? new OssError(503, 'SlowDown', 'Please reduce your request rate.')
        : new OssError(500, 'InternalError', 'We encountered an internal error. Please try again.');
    }

    const bucketName = (req.headers.host ?? '').split('.')[0] ?? '';
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(1));
    } catch {
      throw new OssError(400, 'InvalidURI', 'The path is not valid percent-encoding.');
    }

    const check = verifyOssSignature({ method, headers: req.headers, bucket: bucketName, key, query }, keys);
    if (!check.ok) {
      throw new OssError(403, check.code, check.message, check.stringToSign === undefined ? {} : { StringToSign: check.stringToSign });
    }
    const date = Date.parse(String(req.headers['x-oss-date'] ?? req.headers.date ?? ''));
    if (!Number.isFinite(date) || Math.abs(Date.now() - date) > MAX_SKEW_MS) {
      throw new OssError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
    const objects = buckets.get(bucketName);
    if (objects === undefined) throw new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucketName });

    if (key === '') return bucketOperation(req, res, method, query, body, bucketName, objects);
    if ([...query.keys()].some((name) => name !== 'response-cache-control')) {
      throw new OssError(501, 'NotImplemented', 'This object sub-resource is not implemented by the test server.');
    }
    switch (method) {
      case 'PUT': {
        checkContentMd5(req, body, false);
        const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000);
        const etag = `"${md5(body, 'hex').toUpperCase()}"`;
        const contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
        objects.set(key, { data: body, lastModified, etag, contentType });
        res.writeHead(200, { ETag: etag, 'Content-Length': 0 }).end();
        return;
      }
      case 'GET':
      case 'HEAD': {
        const object = objects.get(key);
        if (object === undefined) throw new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        // A single byte range, as OSS answers one (206, Content-Range; 416 when it starts past the end).
        const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
        if (range !== null && method === 'GET') {
          const start = Number(range[1]);
          const end = Math.min(range[2] === '' ? object.data.length - 1 : Number(range[2]), object.data.length - 1);
          if (start >= object.data.length) throw new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied.', { Key: key });
          res.writeHead(206, {
            'Content-Type': object.contentType,
            'Content-Length': end - start + 1,
            'Content-Range': `bytes ${start}-${end}/${object.data.length}`,
            ETag: object.etag,
            'Last-Modified': object.lastModified.toUTCString(),
            'x-oss-object-type': 'Normal',
          });
          res.end(object.data.subarray(start, end + 1));
          return;
        }
        res.writeHead(200, {
          'Content-Type': object.contentType,
          'Content-Length': object.data.length,
          ETag: object.etag,
          'Last-Modified': object.lastModified.toUTCString(),
          'x-oss-object-type': 'Normal',
          'x-oss-hash-crc64ecma': '0',
        });
        res.end(method === 'GET' ? object.data : undefined);
        return;
      }
      case 'DELETE':
        objects.delete(key);
        res.writeHead(204).end();
        return;
      default:
        throw new OssError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
  }

  function bucketOperation(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    query: Map<string, string>,
    body: Buffer,
    bucketName: string,
    objects: Map<string, StoredObject>,
  ): void {
    if (method === 'POST' && query.has('delete')) {
      checkContentMd5(req, body, true);
      const text = body.toString('utf8');
      const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(text);
      const names = [...text.matchAll(/<Object>\s*<Key>([^<]*)<\/Key>/g)].map((m) => xmlUnescape(m[1] ?? ''));
      if (!/^(<\?xml[^>]*\?>\s*)?<Delete>[\s\S]*<\/Delete>\s*$/.test(text) || names.length === 0) {
        throw new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
      }
      if (names.length > MAX_KEYS) throw new OssError(400, 'MalformedXML', `At most ${MAX_KEYS} keys per request.`);
      const done = names.filter((name) => !withheld.has(name));
      for (const name of done) objects.delete(name);
      const deleted = quiet ? '' : done.map((name) => `<Deleted><Key>${xmlEscape(name)}</Key></Deleted>`).join('');
      sendXml(res, `<DeleteResult>${deleted}</DeleteResult>`);
      return;
    }
    if (method === 'GET' && query.get('list-type') === '2') {
      listV2(res, query, bucketName, objects);
      return;
    }
    throw new OssError(501, 'NotImplemented', 'This bucket operation is not implemented by the test server.');
  }

  function listV2(res: http.ServerResponse, query: Map<string, string>, bucketName: string, objects: Map<string, StoredObject>): void {
    const prefix = query.get('prefix') ?? '';
    if (query.has('delimiter') && query.get('delimiter') !== '') {
      throw new OssError(501, 'NotImplemented', 'delimiter is not implemented by the test server.');
    }
    const maxKeys = Number(query.get('max-keys') ?? 100);
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > MAX_KEYS) {
      throw new OssError(400, 'InvalidArgument', `max-keys must be an integer from 1 to ${MAX_KEYS}.`);
    }
    const token = query.get('continuation-token');
    const after = token !== undefined ? Buffer.from(token, 'base64url').toString('utf8') : (query.get('start-after') ?? '');
    const matching = [...objects.keys()]
      .filter((name) => name.startsWith(prefix) && compareKeys(name, after) > 0)
      .sort(compareKeys);
    const page = matching.slice(0, maxKeys);
    const truncated = matching.length > page.length;
    const contents = page
      .map((name) => {
        const object = objects.get(name);
        if (object === undefined) return '';
        return (
          `<Contents><Key>${xmlEscape(name)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified>` +
          `<ETag>${xmlEscape(object.etag)}</ETag><Type>Normal</Type><Size>${object.data.length}</Size>` +
          '<StorageClass>Standard</StorageClass></Contents>'
        );
      })
      .join('');
    const last = page[page.length - 1];
    sendXml(
      res,
      `<ListBucketResult><Name>${xmlEscape(bucketName)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
        `<MaxKeys>${maxKeys}</MaxKeys><EncodingType></EncodingType>` +
        (token === undefined ? '' : `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`) +
        `<IsTruncated>${truncated}</IsTruncated><KeyCount>${page.length}</KeyCount>` +
        (truncated && last !== undefined ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : '') +
        `${contents}</ListBucketResult>`,
    );
  }

  function sendXml(res: http.ServerResponse, xml: string): void {
    const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': body.length, 'x-oss-request-id': randomBytes(12).toString('hex') });
    res.end(body);
  }

  function sendError(req: http.IncomingMessage, res: http.ServerResponse, error: OssError): void {
    const requestId = randomBytes(12).toString('hex').toUpperCase();
    const extra = Object.entries(error.extra)
      .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
      .join('');
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message>` +
      `<RequestId>${requestId}</RequestId><HostId>127.0.0.1</HostId>${extra}</Error>`;
    const headers: http.OutgoingHttpHeaders = { 'x-oss-request-id': requestId };
    if (req.method === 'HEAD') {
      // HEAD answers carry no body; real OSS puts the error document in this header instead.
      headers['x-oss-err'] = Buffer.from(xml).toString('base64');
      res.writeHead(error.status, headers).end();
      return;
    }
    const body = Buffer.from(xml);
    res.writeHead(error.status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': body.length }).end(body);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const ossError = error instanceof OssError ? error : new OssError(500, 'InternalError', String(error));
      if (!res.headersSent) sendError(req, res, ossError);
      else res.destroy();
    });
  });

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(0);
  const endpoint = `http://127.0.0.1:${port}`;

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    endpoint,
    port,
    bucket,
    accessKeyId,
    accessKeySecret,
    poolOptions: (extra = {}) => ({ type: 'oss', endpoint, bucket, region: REGION, accessKeyId, accessKeySecret, ...extra }),
    requests: () => [...recorded],
    resetRequests: () => {
      recorded = [];
    },
    withholdDeletion: (key) => {
      withheld.add(key);
    },
    failNext: (count, status) => {
      failing = { count, status };
    },
    stop,
    start: async () => {
      if (!server.listening) await listen(port);
    },
    close: stop,
  };
}
