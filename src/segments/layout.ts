// Where segments live: the layout of a producer (a preset) or templates of one's own, under an
// optional prefix. Today's default is `hls/{stream}/segment_{seq}.ts` + `hls/{stream}/index.m3u8`.
// Stream names and ids are checked here, before any I/O.

import { StorageError } from '../errors.js';
import { keyProblem, RESERVED_PREFIX } from '../keys.js';
import { CompiledLayout, LAYOUT_PRESETS, presetByName } from './presets.js';
import type { CompiledTemplate, IdKind, LayoutTemplates, TemplateKind } from './template.js';

/** The layout of earlier configs: the default templates under `prefix`, with the playlist's file name. */
export interface LayoutOptions {
  /** First path part(s) of every key (`hls`); '' for keys at the top of the store. */
  prefix: string;
  /** File name of a stream's playlist (`index.m3u8`). */
  playlist: string;
}

/**
 * What `layout` in the config may be: a preset name, or an object with a preset and/or templates
 * under a prefix. A `playlist` without `{` is the first configs' form: a bare file name.
 */
export type LayoutConfig = string | ({ preset?: string | undefined; prefix?: string | undefined } & Partial<LayoutTemplates>);

export const DEFAULT_LAYOUT: LayoutOptions = { prefix: 'hls', playlist: 'index.m3u8' };

export const STREAM_NAME_RULE = 'letters, digits, ".", "_" and "-", at most 128 characters, not "." or ".."';
const STREAM_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** Producers' temporary names while a file is being written: never a segment, never deleted while young. */
const TEMP_SUFFIX = /\.(tmp|bak|part)$/;

export type ParsedKey =
  | { stream: string; kind: 'segment'; id: number }
  | { stream: string; kind: Exclude<TemplateKind, 'segment'> | 'temp' | 'other' };

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

/** The preset name and templates a config's `layout` stands for. */
export function resolveLayout(config: LayoutConfig = DEFAULT_LAYOUT): { preset: string | undefined; prefix: string; templates: LayoutTemplates } {
  if (typeof config === 'string') {
    const preset = presetByName(config);
    return { preset: config, prefix: preset.prefix, templates: preset };
  }
  if (config.segment === undefined && config.preset === undefined) {
    // The first configs' form: today's templates, perhaps with another playlist file name.
    const playlist = config.playlist ?? DEFAULT_LAYOUT.playlist;
    if (playlist.includes('{')) throw new StorageError('ConfigInvalid', 'layout: a "playlist" template needs a "segment" template (or a "preset") beside it');
    if (playlist.includes('/')) throw new StorageError('ConfigInvalid', `layout.playlist ${JSON.stringify(playlist)}: a bare file name, or a template with {stream}`);
    return { preset: 'flux', prefix: config.prefix ?? DEFAULT_LAYOUT.prefix, templates: { segment: LAYOUT_PRESETS.flux!.segment, playlist: `{stream}/${playlist}` } };
  }
  const base = config.preset === undefined ? undefined : presetByName(config.preset);
  const segment = config.segment ?? base?.segment;
  const playlist = config.playlist ?? base?.playlist;
  if (segment === undefined || playlist === undefined) {
    throw new StorageError('ConfigInvalid', `layout: name a preset (${Object.keys(LAYOUT_PRESETS).join(', ')}) or give both "segment" and "playlist" templates`);
  }
  const init = config.init ?? (config.segment === undefined ? base?.init : undefined);
  const master = config.master ?? (config.segment === undefined ? base?.master : undefined);
  return {
    preset: config.preset,
    prefix: config.prefix ?? base?.prefix ?? '',
    templates: { segment, playlist, ...(init === undefined ? {} : { init }), ...(master === undefined ? {} : { master }) },
  };
}

export class SegmentLayout {
  /** First path part(s) of every key; '' for none. */
  readonly prefix: string;
  /** The preset the layout came from, if any. */
  readonly preset: string | undefined;
  readonly templates: LayoutTemplates;
  /** Whether `streamPrefix(stream)` holds only that stream's files (a folder per stream). */
  readonly folderPerStream: boolean;
  private readonly compiled: CompiledLayout;
  /** How many path parts a stream's folder has (below the root). */
  private readonly streamFolderDepth: number;

  constructor(config: LayoutConfig = DEFAULT_LAYOUT) {
    const { preset, prefix, templates } = resolveLayout(config);
    const problem = prefix === '' ? undefined : keyProblem(prefix);
    if (problem !== undefined) throw new StorageError('ConfigInvalid', `layout.prefix ${JSON.stringify(prefix)}: ${problem}`);
    if (`${prefix}/`.startsWith(RESERVED_PREFIX)) {
      throw new StorageError('ConfigInvalid', `layout.prefix ${JSON.stringify(prefix)} collides with flux-storage's own ${RESERVED_PREFIX} folder: choose another prefix`);
    }
    this.prefix = prefix;
    this.preset = preset;
    this.templates = templates;
    this.compiled = new CompiledLayout(templates);
    // Layout constants, worked out once (parse() asks for them on every key that fits no template).
    // Streams that differ in any part (app, name, variant) must have folders of their own: MediaMTX's
    // tracks (`cam1/video1`, `cam1/audio2`) share their path's folder.
    const segment = this.compiled.segment;
    const samples = segment.hasApp ? ['app/a', 'app/b', 'other/a'] : segment.hasVariant ? ['a/v', 'a/w', 'b/v'] : ['a', 'b'];
    const folders = samples.map((sample) => segment.folderOf(sample));
    this.folderPerStream = folders.every((folder) => folder !== '') && new Set(folders).size === folders.length;
    this.streamFolderDepth = folders[0]!.split('/').length - 1;
  }

  /** The folder under which every key of the layout lies, with its trailing `/` ('' for the whole store). */
  get root(): string {
    return this.prefix === '' ? '' : `${this.prefix}/`;
  }

  /** The file name of a stream's playlist where it is a fixed name (`index.m3u8`); undefined when it varies. */
  get playlist(): string | undefined {
    const last = this.templates.playlist.split('/').pop()!;
    return last.includes('{') ? undefined : last;
  }

  /** Segment ids are sequence numbers, or times (epoch seconds; ms for `{epoch_ms}`). */
  get idKind(): IdKind {
    return this.compiled.segment.idKind!;
  }

  /** The time a time-named segment's id stands for, in ms since the epoch; undefined for sequence ids. */
  idTimeMs(id: number): number | undefined {
    const unit = this.compiled.segment.idUnitMs;
    return unit === undefined ? undefined : id * unit;
  }

  /** Streams are variants (`stream/variant`), perhaps under a master playlist of the stream (`stream`). */
  get hasVariant(): boolean {
    return this.compiled.segment.hasVariant;
  }

  /** The master playlist of a stream (`cam1`, or a variant of it: `cam1/v0`); undefined for layouts without one. */
  masterKey(stream: string): string | undefined {
    const master = this.template('master');
    if (master === undefined) return undefined;
    const owner = this.hasVariant && !master.hasVariant ? this.masterStream(stream) : this.assertStream(stream);
    return this.root + master.format(owner, undefined, this.defaultStem());
  }

  /**
   * The folder of a group of the union listing (SegmentStorage.streams): a stream's streamPrefix,
   * or for the master playlists of a variant layout, the folder of the stream's master (`cam1/`).
   */
  groupPrefix(group: string): string {
    try {
      return this.streamPrefix(group);
    } catch (error) {
      const master = this.masterKey(group);
      if (master === undefined) throw error;
      return master.slice(0, master.lastIndexOf('/') + 1);
    }
  }

  /** The stream that owns a variant's master playlist (`cam1` of `cam1/v0`), or the name as given when it is such a stream. */
  private masterStream(stream: string): string {
    try {
      return this.assertStream(stream).split('/').slice(0, -1).join('/');
    } catch {
      // `cam1` itself: valid when `cam1/v` names a variant of this layout (the error names the stream otherwise).
      this.assertStream(`${stream}/v`);
      return stream;
    }
  }

  /** Names carry a free stem (`{name}`, ffmpeg): a stream's files are found by listing, not by formatting a key. */
  get hasStem(): boolean {
    return [...this.compiled.templates.values()].some((template) => template.hasStem);
  }

  /**
   * What a file named `name` (a bare file name) is when stored in `stream`'s folder of each kind:
   * the kind, segment id and stem the layout reads from it there, or undefined when the name fits
   * no template of that stream (`cam2-3.ts` is no file of stream cam1).
   */
  fileNamed(stream: string, name: string): { kind: TemplateKind; id?: number; stem?: string } | undefined {
    this.assertStream(stream);
    if (name.includes('/')) return undefined;
    for (const template of this.compiled.templates.values()) {
      let folder: string;
      try {
        folder = template.folderOf(stream);
      } catch {
        // A template of another shape of stream (a variant layout's master is the stream's, not the variant's).
        continue;
      }
      const found = this.compiled.match(folder + name);
      if (found?.kind === template.kind && found.stream === stream) return { kind: found.kind, ...(found.id === undefined ? {} : { id: found.id }), ...(found.stem === undefined ? {} : { stem: found.stem }) };
    }
    return undefined;
  }

  /** Streams have an init file (fMP4). */
  get hasInit(): boolean {
    return this.compiled.templates.has('init');
  }

  /** A stream's name as this layout writes it: one name part, or `app/stream`, or `stream/variant`. */
  assertStream(stream: string): string {
    const template = this.compiled.segment;
    const parts = typeof stream === 'string' ? stream.split('/') : [];
    const most = 1 + (template.hasApp ? 1 : 0) + (template.hasVariant ? 1 : 0);
    const least = most - (template.hasApp ? 1 : 0);
    if (parts.length < least || parts.length > most || parts.some((part) => !STREAM_NAME.test(part) || part === '.' || part === '..')) {
      const shape = [template.hasApp ? '[app/]' : '', 'stream', template.hasVariant ? '/variant' : ''].join('');
      throw new StorageError('InvalidKey', `invalid stream name ${JSON.stringify(stream)}: this layout names streams ${shape}, each part ${STREAM_NAME_RULE}`);
    }
    return stream;
  }

  /**
   * The deepest folder holding every key of the stream, with its trailing `/`. Where streams share
   * a folder (nginx-rtmp's flat layout), a listing of it must be filtered by `parse(key).stream`.
   */
  streamPrefix(stream: string): string {
    return this.root + this.compiled.segment.folderOf(this.assertStream(stream));
  }

  segmentKey(stream: string, id: number, stem = this.defaultStem()): string {
    return this.root + this.compiled.segment.format(this.assertStream(stream), assertSegmentId(id), stem);
  }

  playlistKey(stream: string, stem = this.defaultStem()): string {
    return this.root + this.compiled.playlist.format(this.assertStream(stream), undefined, stem);
  }

  /** The stream's init file (fMP4); undefined for layouts without one. */
  initKey(stream: string, stem = this.defaultStem()): string | undefined {
    return this.template('init') === undefined ? undefined : this.root + this.template('init')!.format(this.assertStream(stream), undefined, stem);
  }

  /** What a key under the layout is; undefined for keys outside the layout's prefix or of no stream. */
  parse(key: string): ParsedKey | undefined {
    if (!key.startsWith(this.root) || key.startsWith(RESERVED_PREFIX)) return undefined;
    const rest = key.slice(this.root.length);
    const found = this.compiled.match(rest);
    if (found !== undefined) {
      return found.kind === 'segment' ? { stream: found.stream, kind: 'segment', id: found.id! } : { stream: found.stream, kind: found.kind };
    }
    const temp = TEMP_SUFFIX.exec(rest);
    if (temp !== null) {
      const of = this.compiled.match(rest.slice(0, temp.index));
      if (of !== undefined) return { stream: of.stream, kind: 'temp' };
    }
    return this.folderPerStream ? this.otherInStreamFolder(rest) : undefined;
  }

  private template(kind: TemplateKind): CompiledTemplate | undefined {
    return this.compiled.templates.get(kind);
  }

  /** ffmpeg-style templates name new files with this stem: the playlist's own name, `index`. */
  defaultStem(): string {
    return 'index';
  }

  /** A file in a stream's folder (at any depth) that matches no template: the stream's "other" file. */
  private otherInStreamFolder(rest: string): ParsedKey | undefined {
    const segment = this.compiled.segment;
    const depth = this.streamFolderDepth;
    const parts = rest.split('/');
    if (parts.length <= depth) return undefined;
    const folder = parts.slice(0, depth).join('/');
    try {
      // The folder is a stream's when that stream's segments would be written into it.
      const probe = segment.format(folder, 0, 'x');
      if (probe.startsWith(`${folder}/`) && this.compiled.match(probe)?.stream === folder) return { stream: folder, kind: 'other' };
    } catch {
      // Not a stream name of this layout.
    }
    return undefined;
  }
}
