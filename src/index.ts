// The public API of flux-storage: re-exports only.

export { StorageError, isStorageError, ERROR_CODES, type StorageErrorCode } from './errors.js';
export { assertValidKey, assertValidPrefix, keyProblem, RESERVED_PREFIX } from './keys.js';
export type { StorageBackend, BackendCapabilities, ObjectInfo, BackendUsage, DeleteManyResult, BackendContext, WriteReceipt } from './backends/types.js';
export { createBackend, backendOptionsSchema, BACKEND_TYPES, type BackendOptions, type BackendType } from './backends/registry.js';
export { LocalBackend } from './backends/local/index.js';
export { StoragePool, POOL_DEFAULTS, type PoolConfig, type PoolOptions, type PoolUsage } from './pool/pool.js';
export { StorageManager, type WriteOutcome, type ListedObject, type UnionListing, type PoolFailure } from './pool/manager.js';
export type { PoolHealth, PoolMetrics, ProbeResult } from './pool/health.js';
export {
  aggregateFailure,
  assertWritable,
  HealthBreaker,
  planWrite,
  readOrder,
  writeRefusal,
  type BreakerState,
  type HealthOptions,
  type PoolFacts,
  type SkipReason,
  type WriteSkip,
} from './pool/policy.js';
export { classifyHttpError, type HttpErrorFacts } from './backends/http-errors.js';
export { SegmentStorage, SAVE_MANY_CONCURRENCY, type SegmentInfo, type StreamSummary, type Listing, type SaveItem, type SaveManyOptions, type SaveResult, type ListOptions, type StreamContents, type StreamFile, type StreamListing, type StreamsOptions } from './segments/segment-storage.js';
export { FolderListing, type FolderObjects, type FolderListingOptions, type Grouping } from './pool/listing.js';
export { SegmentLayout, DEFAULT_LAYOUT, type LayoutOptions } from './segments/layout.js';
export { loadConfig, parseConfig, defaultConfig, type LoadedConfig } from './config/load.js';
export { openStorage, type OpenOptions } from './config/open.js';
export { Redactor } from './config/redact.js';
export type { FluxConfig } from './config/schema.js';
