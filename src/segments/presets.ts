// The layouts real producers write, by name, and the check that refuses a set of templates under
// which two streams (or two kinds of file) could own one key.

import { StorageError } from '../errors.js';
import { CompiledTemplate, type LayoutTemplates, type TemplateKind, type TemplateMatch } from './template.js';

export interface LayoutPreset extends LayoutTemplates {
  /** Default first path part(s) of every key. */
  prefix: string;
  /** Who writes it, for `--help` and the README. */
  producer: string;
}

/** Segment and playlist names by producer (from their documentation and source). */
export const LAYOUT_PRESETS: Readonly<Record<string, LayoutPreset>> = {
  flux: { producer: 'flux-storage (the default)', prefix: 'hls', segment: '{stream}/segment_{seq}.ts', playlist: '{stream}/index.m3u8' },
  'flux-fmp4': { producer: 'flux-storage, fMP4', prefix: 'hls', segment: '{stream}/segment_{seq}.m4s', playlist: '{stream}/index.m3u8', init: '{stream}/init.mp4' },
  'nginx-rtmp': { producer: 'nginx-rtmp (hls_nested off)', prefix: '', segment: '{stream}-{seq}.ts', playlist: '{stream}.m3u8' },
  'nginx-rtmp-nested': { producer: 'nginx-rtmp (hls_nested on)', prefix: '', segment: '{stream}/{seq}.ts', playlist: '{stream}/index.m3u8' },
  srs: { producer: 'SRS (hls_ts_file default)', prefix: '', segment: '{app}/{stream}-{seq}.ts', playlist: '{app}/{stream}.m3u8' },
  'srs-fmp4': { producer: 'SRS, fMP4', prefix: '', segment: '{app}/{stream}-{seq}.m4s', playlist: '{app}/{stream}.m3u8', init: '{app}/{stream}-init.mp4' },
  ffmpeg: { producer: 'ffmpeg hlsenc, a folder per stream', prefix: '', segment: '{stream}/{name}{seq:1}.ts', playlist: '{stream}/{name}.m3u8' },
  'ffmpeg-fmp4': { producer: 'ffmpeg hlsenc -hls_segment_type fmp4', prefix: '', segment: '{stream}/{name}{seq:1}.m4s', playlist: '{stream}/{name}.m3u8', init: '{stream}/init.mp4' },
  'ffmpeg-variants': {
    producer: 'ffmpeg hlsenc -var_stream_map, a folder per variant, -master_pl_name',
    prefix: '',
    segment: '{stream}/{variant}/{name}{seq:1}.ts',
    playlist: '{stream}/{variant}/{name}.m3u8',
    master: '{stream}/{name}.m3u8',
  },
  'ffmpeg-fmp4-variants': {
    producer: 'ffmpeg hlsenc -var_stream_map -hls_segment_type fmp4',
    prefix: '',
    segment: '{stream}/{variant}/{name}{seq:1}.m4s',
    playlist: '{stream}/{variant}/{name}.m3u8',
    master: '{stream}/{name}.m3u8',
    init: '{stream}/{variant}/init_{variant}.mp4',
  },
  // MediaMTX (hlsDirectory; gohlslib): `{random prefix}_{track}_seg{N}.mp4` for each track (video1,
  // audio2) of a path, the track's playlist `{track}_stream.m3u8` and the path's `index.m3u8`.
  mediamtx: {
    producer: 'MediaMTX (hlsDirectory, fMP4: each track a variant)',
    prefix: '',
    segment: '{stream}/{name}_{variant}_seg{seq}.mp4',
    playlist: '{stream}/{variant}_stream.m3u8',
    master: '{stream}/index.m3u8',
    init: '{stream}/{name}_{variant}_init.mp4',
  },
};

/** Templates in the order a key is tried against them: the most specific names first. */
const MATCH_ORDER: readonly TemplateKind[] = ['init', 'segment', 'master', 'playlist'];

/** Streams and ids the ambiguity check names files for: separators, digits, and names that end in digits. */
const SAMPLE_STREAMS = ['a', 'a1', 'a-1', 'a_b', 'a.b', '1', '12', 'a-b-2', 'seg'];
const SAMPLE_IDS = [0, 1, 7, 12, 123, 1_700_000_000, 1_700_000_000_123];

export class CompiledLayout {
  readonly templates: ReadonlyMap<TemplateKind, CompiledTemplate>;

  constructor(templates: LayoutTemplates) {
    const compiled = new Map<TemplateKind, CompiledTemplate>();
    for (const kind of MATCH_ORDER) {
      const source = templates[kind];
      if (source !== undefined) compiled.set(kind, new CompiledTemplate(kind, source));
    }
    this.templates = compiled;
    const variantIn = [...compiled.values()].filter((t) => t.hasVariant).map((t) => t.kind);
    if (variantIn.length > 0 && !(compiled.get('segment')?.hasVariant && compiled.get('playlist')?.hasVariant)) {
      throw new StorageError('ConfigInvalid', 'layout: {variant} must be in both the segment and the playlist templates');
    }
    assertUnambiguous(this);
  }

  get segment(): CompiledTemplate {
    return this.templates.get('segment')!;
  }

  get playlist(): CompiledTemplate {
    return this.templates.get('playlist')!;
  }

  /** What a path (below the prefix) is, trying the most specific templates first. */
  match(path: string): TemplateMatch | undefined {
    for (const template of this.templates.values()) {
      const found = template.match(path);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

/**
 * Refuses templates under which a name could belong to two streams, or to two kinds of file: every
 * sample name must read back as the stream, kind and id it was made for.
 */
function assertUnambiguous(layout: CompiledLayout): void {
  for (const template of layout.templates.values()) {
    for (const stream of sampleStreams(template)) {
      for (const id of template.idKind === undefined ? [undefined] : SAMPLE_IDS) {
        for (const stem of template.hasStem ? ['', 'out', 'out_', 'seg-', 'v1_'] : ['']) {
          // Time ids are sampled in their own unit: epoch seconds, or ms for {epoch_ms}.
          if (template.idKind === 'time' && id !== undefined && (template.idUnitMs === 1 ? id < 100_000_000_000 : id < 1_000_000_000 || id >= 100_000_000_000)) continue;
          const path = template.format(stream, id, stem);
          const back = layout.match(path);
          if (back === undefined || back.kind !== template.kind || back.stream !== stream || back.id !== id) {
            const read = back === undefined ? 'matches no template' : `reads as ${back.kind} of stream ${JSON.stringify(back.stream)}${back.id === undefined ? '' : ` id ${back.id}`}`;
            throw new StorageError(
              'ConfigInvalid',
              `layout is ambiguous: ${JSON.stringify(path)}, the ${template.kind} of stream ${JSON.stringify(stream)}${id === undefined ? '' : ` id ${id}`} under ${JSON.stringify(template.source)}, ${read}; put a separator (such as "-", "_" or "/") between the fields`,
            );
          }
        }
      }
    }
  }
}

function sampleStreams(template: CompiledTemplate): string[] {
  let streams = SAMPLE_STREAMS;
  if (template.hasVariant) streams = streams.flatMap((s) => [`${s}/0`, `${s}/v1`]);
  if (template.hasApp) streams = streams.flatMap((s) => [s, `live/${s}`, `a-1/${s}`]);
  return streams;
}

/** The templates of a preset name, or a ConfigInvalid error listing the presets. */
export function presetByName(name: string): LayoutPreset {
  const preset = LAYOUT_PRESETS[name];
  if (preset === undefined) {
    throw new StorageError('ConfigInvalid', `layout: unknown preset ${JSON.stringify(name)}; the presets are ${Object.keys(LAYOUT_PRESETS).join(', ')}`);
  }
  return preset;
}
