// The origin's pages: the list of streams, and a stream's page that plays it in the browser with
// hls.js, which the tool serves itself (from its own dependency, never a CDN).

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { RESERVED_PREFIX } from '../keys.js';

/** Where the page loads hls.js from: under the reserved prefix, which no layout key can use. */
export const HLS_JS_PATH = `${RESERVED_PREFIX}hls.min.js`;

let hlsJs: Promise<Buffer> | undefined;

/** hls.js's browser build, read once from the installed package. */
export function hlsJsSource(): Promise<Buffer> {
  hlsJs ??= readFile(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
  return hlsJs;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = 'body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right}video{max-width:100%;background:#000}';

interface IndexRow {
  stream: string;
  page: string;
  segments: number;
  bytes: number;
  firstId: number | null;
  lastId: number | null;
  pools: string[];
}

export function indexPage(streams: readonly IndexRow[], failures: readonly { pool: string; code: string }[]): string {
  const rows = streams
    .map((s) => `<tr><td><a href="${escapeHtml(s.page)}">${escapeHtml(s.stream)}</a></td><td class="n">${s.segments}</td><td class="n">${s.bytes}</td><td class="n">${s.firstId ?? ''}–${s.lastId ?? ''}</td><td>${escapeHtml(s.pools.join(', '))}</td></tr>`)
    .join('\n');
  const warning = failures.length === 0 ? '' : `<p><strong>Incomplete:</strong> ${failures.map((f) => `${escapeHtml(f.pool)} (${escapeHtml(f.code)})`).join(', ')} could not be listed.</p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>flux-storage streams</title><style>${STYLE}</style></head><body>
<h1>Streams</h1>${warning}
<table><thead><tr><th>stream</th><th>segments</th><th>bytes</th><th>ids</th><th>pools</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

/** Plays the live playlist when it is stored, else the VOD playlist over the stored segments (none for a master's page). */
export function streamPage(stream: string, livePath: string, vodPath: string | undefined): string {
  const config = JSON.stringify({ live: livePath, vod: vodPath }).replace(/</g, '\\u003c');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(stream)} · flux-storage</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(stream)}</h1>
<video id="video" controls muted autoplay playsinline width="640"></video>
<p id="status">loading…</p>
<p><a href="/">all streams</a>${vodPath === undefined ? '' : ` · <a href="${escapeHtml(vodPath)}">VOD playlist</a>`}</p>
<script src="/${HLS_JS_PATH}"></script>
<script>
const paths = ${config};
const video = document.getElementById('video');
const status = document.getElementById('status');
video.addEventListener('timeupdate', () => { status.textContent = 'playing ' + video.currentTime.toFixed(1) + ' s'; });
async function pick() {
  const live = await fetch(paths.live, { method: 'HEAD' }).catch(() => null);
  return (live && live.ok) || !paths.vod ? paths.live : paths.vod;
}
pick().then((src) => {
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) status.textContent = 'error: ' + data.details; });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;
  } else {
    status.textContent = 'this browser cannot play HLS';
  }
  video.play().catch(() => {});
});
</script></body></html>
`;
}
