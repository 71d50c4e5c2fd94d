// Where segments live: `{prefix}/{stream}/segment_{id}.ts` and `{prefix}/{stream}/{playlist}`.
// Stream names and ids are checked here, before any I/O.

import { StorageError } from '../errors.js';
import { keyProblem } from '../keys.js';

export interface LayoutOptions {
  /** First path part of every key (`hls`). */
  prefix: string;
  /** File name of a stream's playlist (`index.m3u8`). */
  playlist: string;
}

export const DEFAULT_LAYOUT: LayoutOptions = { prefix: 'hls', playlist: 'index.m3u8' };

export const STREAM_NAME_RULE = 'letters, digits, ".", "_" and "-", at most 128 characters, not "." or ".."';
const STREAM_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const SEGMENT_FILE = /^segment_(0|[1-9][0-9]*)\.ts$/;

export function assertStreamName(stream: string): string {
  if (typeof stream !== 'string' || !STREAM_NAME.test(stream) || stream === '.' || stream === '..') {
    throw new StorageError('InvalidKey', `invalid stream name ${JSON.stringify(stream)}: use ${STREAM_NAME_RULE}`);
  }
  return stream;
}

export function assertSegmentId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new StorageError('InvalidKey', `invalid segment id ${JSON.stringify(id)}: use a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return id;
}

/** A segment id from text such as "42": digits only, a safe integer. */
export function parseSegmentId(text: string): number {
  if (!/^[0-9]+$/.test(text)) {
    throw new StorageError('InvalidKey', `invalid segment id ${JSON.stringify(text)}: use a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return assertSegmentId(Number(text));
}

export class SegmentLayout {
  readonly prefix: string;
  readonly playlist: string;

  constructor(options: LayoutOptions = DEFAULT_LAYOUT) {
    const problem = keyProblem(options.prefix) ?? keyProblem(options.playlist);
    if (problem !== undefined || options.playlist.includes('/') || SEGMENT_FILE.test(options.playlist)) {
      throw new StorageError('ConfigInvalid', `layout: prefix ${JSON.stringify(options.prefix)} and playlist ${JSON.stringify(options.playlist)} must be safe paths (${problem ?? 'the playlist is a bare file name, not a segment name'})`);
    }
    this.prefix = options.prefix;
    this.playlist = options.playlist;
  }

  /** The folder of every stream, with its trailing `/`. */
  get root(): string {
    return `${this.prefix}/`;
  }

  streamPrefix(stream: string): string {
    return `${this.prefix}/${assertStreamName(stream)}/`;
  }

  segmentKey(stream: string, id: number): string {
    return `${this.streamPrefix(stream)}segment_${assertSegmentId(id)}.ts`;
  }

  playlistKey(stream: string): string {
    return `${this.streamPrefix(stream)}${this.playlist}`;
  }

  /** What a key under the layout is: a segment, a playlist, or something else of a stream. */
  parse(key: string): { stream: string; kind: 'segment'; id: number } | { stream: string; kind: 'playlist' | 'other' } | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const rest = key.slice(this.root.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    const stream = rest.slice(0, slash);
    const file = rest.slice(slash + 1);
    if (!STREAM_NAME.test(stream) || stream === '.' || stream === '..') return undefined;
    const match = SEGMENT_FILE.exec(file);
    if (match !== null) {
      const id = Number(match[1]);
      if (Number.isSafeInteger(id)) return { stream, kind: 'segment', id };
    }
    return { stream, kind: file === this.playlist ? 'playlist' : 'other' };
  }
}
