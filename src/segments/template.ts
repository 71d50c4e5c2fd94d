// Layout templates: how a producer names a stream's files (`{stream}-{seq}.ts`, `{app}/{stream}.m3u8`),
// compiled once into a matcher that parses keys and a formatter that names new ones. The presets
// are the layouts that real producers write; an ambiguous template is refused when it is compiled.

import { StorageError } from '../errors.js';

/** The file kinds a layout names. */
export type TemplateKind = 'segment' | 'playlist' | 'init' | 'master';

/** One line of config per kind; `segment` and `playlist` are required, the others optional. */
export interface LayoutTemplates {
  segment: string;
  playlist: string;
  init?: string | undefined;
  master?: string | undefined;
}

/** What a key under the layout is, once matched against a template. */
export interface TemplateMatch {
  kind: TemplateKind;
  /** `stream`, or `app/stream` where the template has `{app}`, or `stream/variant` with `{variant}`. */
  stream: string;
  /** The segment's number: its sequence, or its time (epoch seconds, or ms for `{epoch_ms}`). */
  id?: number;
  /** The free stem (`{name}`) the name was written with, where the template has one. */
  stem?: string;
}

/** How a segment's id is read from its name. */
export type IdKind = 'sequence' | 'time';

const NAME = '[A-Za-z0-9._-]+';
/** A free stem (`{name}`): any name part that does not end in a digit, so a number after it is unambiguous. */
const STEM = '(?:[A-Za-z0-9._-]*[A-Za-z._-])?';
/** A free stem followed by a literal that does not start with a digit (`{name}_seg{seq}`): it may end in a digit (MediaMTX's hex prefixes). */
const STEM_BEFORE_LITERAL = '[A-Za-z0-9._-]*';

/** strftime directives understood in `{time:...}`, with their digits and the Date field they set. */
const TIME_DIRECTIVES: Record<string, { digits: number; field: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' }> = {
  Y: { digits: 4, field: 'year' },
  m: { digits: 2, field: 'month' },
  d: { digits: 2, field: 'day' },
  H: { digits: 2, field: 'hour' },
  M: { digits: 2, field: 'minute' },
  S: { digits: 2, field: 'second' },
};

interface Part {
  literal?: string;
  field?: 'stream' | 'app' | 'variant' | 'name' | 'seq' | 'time' | 'epoch' | 'epoch_ms';
  /** `{seq:5}`: zero-padded width. */
  width?: number;
  /** `{time:%Y%m%d-%H%M%S}`: the strftime pattern. */
  pattern?: string;
}

/** One compiled template: parse a key's path below the prefix, or name one. */
export class CompiledTemplate {
  readonly kind: TemplateKind;
  readonly source: string;
  readonly idKind: IdKind | undefined;
  /** Milliseconds per unit of a time id (1000 for epoch seconds and strftime names, 1 for `{epoch_ms}`); undefined for sequence ids. */
  readonly idUnitMs: number | undefined;
  /** The template has a free stem (`{name}`): several files of a stream may match (ffmpeg names). */
  readonly hasStem: boolean;
  readonly hasApp: boolean;
  readonly hasVariant: boolean;
  private readonly parts: Part[];
  private readonly regex: RegExp;
  private readonly groups: Part[];

  constructor(kind: TemplateKind, source: string) {
    this.kind = kind;
    this.source = source;
    this.parts = tokenize(source);
    const fields = this.parts.filter((p) => p.field !== undefined).map((p) => p.field!);
    const where = `layout.${kind} ${JSON.stringify(source)}`;
    if (!fields.includes('stream')) throw new StorageError('ConfigInvalid', `${where}: needs a {stream} field`);
    const ids = fields.filter((f) => f === 'seq' || f === 'time' || f === 'epoch' || f === 'epoch_ms');
    if (kind === 'segment' && ids.length !== 1) throw new StorageError('ConfigInvalid', `${where}: needs exactly one id field ({seq}, {seq:N}, {time:...}, {epoch} or {epoch_ms})`);
    if (kind !== 'segment' && ids.length > 0) throw new StorageError('ConfigInvalid', `${where}: only segment names carry an id`);
    // {variant} may repeat (ffmpeg's fMP4 init files are `{variant}/init_{variant}.mp4`): each repeat must read the same.
    for (const field of ['stream', 'app', 'name'] as const) {
      if (fields.filter((f) => f === field).length > 1) throw new StorageError('ConfigInvalid', `${where}: {${field}} appears twice`);
    }
    if (fields.includes('app') && this.parts[0]?.field !== 'app') throw new StorageError('ConfigInvalid', `${where}: {app} must be the first path part ("{app}/...")`);
    if (fields.includes('app') && this.parts[1]?.literal?.startsWith('/') !== true) throw new StorageError('ConfigInvalid', `${where}: {app} must be a whole path part ("{app}/...")`);
    if (source.startsWith('/') || source.endsWith('/') || source.includes('//') || /(^|\/)\.\.?(\/|$)/.test(source)) {
      throw new StorageError('ConfigInvalid', `${where}: must be a relative path without empty, "." or ".." parts`);
    }
    this.idKind = ids.length === 0 ? undefined : ids[0] === 'seq' ? 'sequence' : 'time';
    this.idUnitMs = ids.length === 0 || ids[0] === 'seq' ? undefined : ids[0] === 'epoch_ms' ? 1 : 1000;
    this.hasStem = fields.includes('name');
    this.hasApp = fields.includes('app');
    this.hasVariant = fields.includes('variant');
    const firstVariant = this.parts.findIndex((p) => p.field === 'variant');
    this.groups = this.parts.filter((p, i) => p.field !== undefined && !(p.field === 'variant' && i !== firstVariant));
    // A repeated {variant} is a back-reference to the first one's group.
    const variantGroup = firstVariant < 0 ? 0 : 1 + this.groups.slice(0, this.groups.indexOf(this.parts[firstVariant]!)).reduce((n, p) => n + (p.field === 'time' ? directivesOf(p.pattern!).length : 1), 0);
    // An optional {app} takes its "/" with it, so `{app}/{stream}.m3u8` also matches `cam1.m3u8`.
    const body = this.parts.map((p, i) =>
      i === 0 && this.hasApp ? `(?:(${NAME})/)?` : i === 1 && this.hasApp ? escape(p.literal!.slice(1)) : p.field === 'variant' && i !== firstVariant ? `\\${variantGroup}` : p.field === 'name' && /^[^0-9]/.test(this.parts[i + 1]?.literal ?? '') ? `(${STEM_BEFORE_LITERAL})` : partRegex(p),
    );
    this.regex = new RegExp(`^${body.join('')}$`);
  }

  /** The stream (and id) a path names, or undefined when it does not match this template. */
  match(path: string): TemplateMatch | undefined {
    const m = this.regex.exec(path);
    if (m === null) return undefined;
    let stream = '';
    let app: string | undefined;
    let variant: string | undefined;
    let id: number | undefined;
    let stem: string | undefined;
    const time: Partial<Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>> = {};
    let group = 1;
    for (const part of this.groups) {
      if (part.field === 'time') {
        for (const directive of directivesOf(part.pattern!)) time[TIME_DIRECTIVES[directive]!.field] = Number(m[group++]);
        id = timeToEpoch(time);
        if (id === undefined) return undefined;
        continue;
      }
      const value = m[group++];
      if (part.field === 'stream') stream = value!;
      else if (part.field === 'app') app = value;
      else if (part.field === 'variant') variant = value;
      else if (part.field === 'name') stem = value ?? '';
      else if (part.field === 'seq' || part.field === 'epoch' || part.field === 'epoch_ms') {
        const n = Number(value);
        if (!Number.isSafeInteger(n)) return undefined;
        if (part.width !== undefined && value!.length < part.width) return undefined;
        id = n;
      }
    }
    if (stream === '.' || stream === '..') return undefined;
    const full = [app, stream, variant].filter((s) => s !== undefined && s !== '').join('/');
    return { kind: this.kind, stream: full, ...(id === undefined ? {} : { id }), ...(stem === undefined ? {} : { stem }) };
  }

  /**
   * The path of this kind of file for `stream` (as `match` reports it) and `id`. A template with a
   * free stem names new files with `stem` (ffmpeg's default stem is the playlist's name).
   */
  format(stream: string, id?: number, stem = ''): string {
    const names = stream.split('/');
    const expected = 1 + (this.hasApp ? 1 : 0) + (this.hasVariant ? 1 : 0);
    if (names.length !== expected && !(this.hasApp && names.length === expected - 1)) {
      throw new StorageError('InvalidKey', `stream ${JSON.stringify(stream)} does not fit the layout ${JSON.stringify(this.source)}`);
    }
    const app = this.hasApp && names.length === expected ? names.shift() : undefined;
    const variant = this.hasVariant ? names.pop() : undefined;
    const name = names[0]!;
    let out = '';
    for (const [index, part] of this.parts.entries()) {
      if (part.literal !== undefined) {
        // An absent {app} drops its folder with it.
        out += index === 1 && this.hasApp && app === undefined ? part.literal.slice(1) : part.literal;
        continue;
      }
      switch (part.field) {
        case 'stream':
          out += name;
          break;
        case 'app':
          out += app ?? '';
          break;
        case 'variant':
          out += variant ?? '';
          break;
        case 'name':
          out += stem;
          break;
        case 'seq':
        case 'epoch':
        case 'epoch_ms':
          out += requireId(id, this.source).toString().padStart(part.width ?? 0, '0');
          break;
        case 'time':
          out += formatTime(requireId(id, this.source), part.pattern!);
          break;
      }
    }
    return out;
  }

  /**
   * The folder every file of `stream` is under: the path before the first field that changes from
   * file to file (the id, the stem), so `{stream}/{time:%Y/%m/%d}/{seq}.ts` gives `cam1/`, not one
   * day's folder. Two names far apart (other ids, other stems) share exactly that folder.
   */
  folderOf(stream: string): string {
    const one = this.format(stream, 0, 'x');
    const other = this.format(stream, 987_654_321, 'y');
    let same = 0;
    while (same < one.length && one[same] === other[same]) same++;
    const slash = one.lastIndexOf('/', same - 1);
    return slash === -1 ? '' : one.slice(0, slash + 1);
  }
}

function requireId(id: number | undefined, source: string): number {
  if (id === undefined || !Number.isSafeInteger(id) || id < 0) throw new StorageError('InvalidKey', `layout ${JSON.stringify(source)} needs a segment id, a whole number 0 or more`);
  return id;
}

function tokenize(source: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([a-z_]+)(?::([^}]*))?\}/g;
  let last = 0;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) {
    if (m.index > last) parts.push({ literal: source.slice(last, m.index) });
    const [, field, arg] = m;
    const where = `layout template ${JSON.stringify(source)}`;
    switch (field) {
      case 'stream':
      case 'app':
      case 'variant':
      case 'name':
      case 'epoch':
      case 'epoch_ms':
        if (arg !== undefined) throw new StorageError('ConfigInvalid', `${where}: {${field}} takes no argument`);
        parts.push({ field });
        break;
      case 'seq': {
        if (arg !== undefined && !/^[1-9][0-9]?$/.test(arg)) throw new StorageError('ConfigInvalid', `${where}: {seq:N} takes a width from 1 to 99`);
        parts.push(arg === undefined ? { field } : { field, width: Number(arg) });
        break;
      }
      case 'time': {
        const directives = arg === undefined ? [] : directivesOf(arg);
        if (arg === undefined || directives.length === 0 || /%[^YmdHMS]/.test(arg) || !['Y', 'm', 'd'].every((d) => directives.includes(d))) {
          throw new StorageError('ConfigInvalid', `${where}: {time:...} takes a strftime pattern with %Y, %m and %d (and %H, %M, %S)`);
        }
        parts.push({ field, pattern: arg });
        break;
      }
      default:
        throw new StorageError('ConfigInvalid', `${where}: unknown field {${field}}; the fields are {stream}, {app}, {variant}, {name}, {seq}, {seq:N}, {time:%Y%m%d-%H%M%S}, {epoch}, {epoch_ms}`);
    }
    last = re.lastIndex;
  }
  if (last < source.length) parts.push({ literal: source.slice(last) });
  for (const part of parts) {
    if (part.literal !== undefined && /[{}]/.test(part.literal)) throw new StorageError('ConfigInvalid', `layout template ${JSON.stringify(source)}: unbalanced "{" or "}"`);
  }
  return parts;
}

function directivesOf(pattern: string): string[] {
  return [...pattern.matchAll(/%(.)/g)].map((m) => m[1]!);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function partRegex(part: Part): string {
  if (part.literal !== undefined) return escape(part.literal);
  switch (part.field) {
    case 'stream':
    case 'variant':
    case 'app':
      return `(${NAME})`;
    case 'name':
      return `(${STEM})`;
    case 'seq':
      return part.width === undefined ? '(0|[1-9][0-9]*)' : `([0-9]{${part.width},})`;
    case 'epoch':
      return '([0-9]{9,11})';
    case 'epoch_ms':
      return '([0-9]{12,14})';
    case 'time':
      return escape(part.pattern!).replace(/%([YmdHMS])/g, (_, d: string) => `([0-9]{${TIME_DIRECTIVES[d]!.digits}})`);
    default:
      throw new Error(`unreachable field ${String(part.field)}`);
  }
}

function timeToEpoch(t: Partial<Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>>): number | undefined {
  const ms = Date.UTC(t.year!, (t.month ?? 1) - 1, t.day ?? 1, t.hour ?? 0, t.minute ?? 0, t.second ?? 0);
  const d = new Date(ms);
  // Reject 2024-02-31 and the like rather than roll them over.
  if (d.getUTCMonth() !== (t.month ?? 1) - 1 || d.getUTCDate() !== (t.day ?? 1) || (t.hour ?? 0) > 23 || (t.minute ?? 0) > 59 || (t.second ?? 0) > 59) return undefined;
  return ms / 1000;
}

function formatTime(epochSeconds: number, pattern: string): string {
  const d = new Date(epochSeconds * 1000);
  const values: Record<string, number> = {
    Y: d.getUTCFullYear(),
    m: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    H: d.getUTCHours(),
    M: d.getUTCMinutes(),
    S: d.getUTCSeconds(),
  };
  return pattern.replace(/%([YmdHMS])/g, (_, k: string) => String(values[k]).padStart(TIME_DIRECTIVES[k]!.digits, '0'));
}
