#!/usr/bin/env node
// The client of the serve benchmark: N ffmpeg-style HLS readers at once against one HTTP origin.
// Each reader fetches the playlist, takes the segment URIs it names, and fetches `--segments` of
// them in order (one request at a time, as a player does), starting at its own offset so that the
// readers together cover different parts of the stream. Keep-alive connections, one per reader.
//
//   node bench/serve-readers.mjs --url http://127.0.0.1:PORT/hls/s/index.m3u8 --readers 16 \
//     --segments 200 [--expect-bytes N]
//
// Fails (exit 1) on any status other than 200 or a body of another length than Content-Length,
// and with --expect-bytes when the segments read do not add up to N bytes. Prints one JSON line:
// { requests, bytes, seconds }.

import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    readers: { type: 'string', default: '16' },
    segments: { type: 'string', default: '200' },
    'expect-bytes': { type: 'string' },
  },
  strict: true,
});
if (!values.url) {
  process.stderr.write('usage: serve-readers.mjs --url PLAYLIST_URL [--readers N] [--segments M] [--expect-bytes B]\n');
  process.exit(2);
}
const readers = Number(values.readers);
const perReader = Number(values.segments);
const playlistUrl = new URL(values.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: readers });

/** GETs `url` completely; resolves its body length (the playlist's text when `text`). */
function get(url, text = false) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent }, (response) => {
      const chunks = [];
      let length = 0;
      response.on('data', (chunk) => {
        length += chunk.length;
        if (text) chunks.push(chunk);
      });
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`${url}: HTTP ${response.statusCode}`));
        const declared = response.headers['content-length'];
        if (declared !== undefined && Number(declared) !== length) return reject(new Error(`${url}: ${length} bytes, Content-Length ${declared}`));
        resolve(text ? Buffer.concat(chunks).toString('utf8') : length);
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

const started = process.hrtime.bigint();
let requests = 0;
let bytes = 0;
let segmentBytes = 0;
async function reader(index) {
  const playlist = await get(playlistUrl, true);
  requests++;
  bytes += Buffer.byteLength(playlist);
  const uris = playlist.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (uris.length === 0) throw new Error('the playlist names no segment');
  const stride = Math.max(1, Math.floor(uris.length / readers));
  for (let i = 0; i < perReader; i++) {
    const uri = uris[(index * stride + i) % uris.length];
    const n = await get(new URL(uri, playlistUrl));
    requests++;
    bytes += n;
    segmentBytes += n;
  }
}
try {
  await Promise.all(Array.from({ length: readers }, (_, i) => reader(i)));
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
agent.destroy();
if (values['expect-bytes'] !== undefined && segmentBytes !== Number(values['expect-bytes'])) {
  process.stderr.write(`read ${segmentBytes} segment bytes, expected ${values['expect-bytes']}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ requests, bytes, seconds })}\n`);
