// The Lua scripts that keep objects and their folder indexes in step. Each runs atomically on the
// server, so a write, a delete or an expiry never leaves the index and the objects disagreeing.
//
// Layout, for keyPrefix P (every key this pool writes starts with P):
//   P o:<key>     hash { d = bytes, s = size, m = modified ms }, with PEXPIREAT when the pool has a TTL
//   P i:<folder>  sorted set, all scores 0: names of the objects directly in <folder> (paged by lex)
//   P e:<folder>  sorted set, score = expiry ms: the subset of i:<folder> that has a TTL
//   P f:<folder>  sorted set, all scores 0: names of the sub-folders of <folder>
// <folder> is '' (the top) or ends with '/'. Object keys never end with '/', so names cannot clash.
//
// On a Redis Cluster, P is followed by a hash tag of the folder (`P{tag}o:<key>`...: see index.ts),
// so the keys of one folder share a slot and each script touches one folder's keys only: it is
// told links = 0, and the f: sets of other folders are kept by the caller (and never pruned, since
// a prune across slots could race a write into the folder and hide it). Keys are derived inside the
// scripts from ARGV; KEYS[1] only routes the call to its node. Scripts carry no shebang so that
// Redis 6 runs them too; each write script's first write is a deny-oom command, so an OOM refusal
// aborts it before it changed anything.

const HELPERS = `
local function split(key)
  local last = 0
  local at = string.find(key, '/', 1, true)
  while at do
    last = at
    at = string.find(key, '/', at + 1, true)
  end
  return string.sub(key, 1, last), string.sub(key, last + 1)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ms(n)
  return string.format('%.0f', n)
end

-- Drops empty folders from their parents' sub-folder sets, walking up while they stay empty.
local function prune(p, folder)
  while folder ~= '' do
    if redis.call('ZCARD', p .. 'i:' .. folder) > 0 or redis.call('ZCARD', p .. 'f:' .. folder) > 0 then
      return
    end
    local parent, name = split(string.sub(folder, 1, -2))
    redis.call('ZREM', p .. 'f:' .. parent, name)
    folder = parent
  end
end

-- Forgets up to 'limit' names of 'folder' whose expiry has passed and whose object is gone;
-- returns how many it forgot. Bounds the index of a TTL folder that is written but never listed.
local function trim_expired(p, folder, now, limit)
  local due = redis.call('ZRANGEBYSCORE', p .. 'e:' .. folder, '-inf', '(' .. ms(now), 'LIMIT', 0, limit)
  local removed = 0
  for _, name in ipairs(due) do
    if redis.call('EXISTS', p .. 'o:' .. folder .. name) == 0 then
      redis.call('ZREM', p .. 'i:' .. folder, name)
      redis.call('ZREM', p .. 'e:' .. folder, name)
      removed = removed + 1
    end
  end
  return removed
end
`;

/** ARGV: prefix, key, ttl ms (0: none), data, links (1: add the key's folders to their parents). */
export const WRITE_SCRIPT = `${HELPERS}
local p, key, ttl, data, links = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5] == '1'
local now = now_ms()
local object = p .. 'o:' .. key
-- HSET first: it is the deny-oom command, so a full server refuses before anything changed.
redis.call('HSET', object, 'd', data, 's', #data, 'm', ms(now))
local folder, name = split(key)
if ttl > 0 then
  redis.call('PEXPIREAT', object, ms(now + ttl))
  redis.call('ZADD', p .. 'e:' .. folder, ms(now + ttl), name)
  trim_expired(p, folder, now, 100)
else
  redis.call('PERSIST', object)
  redis.call('ZREM', p .. 'e:' .. folder, name)
end
redis.call('ZADD', p .. 'i:' .. folder, 0, name)
local parent, from = '', 1
local slash = links and string.find(key, '/', from, true)
while slash do
  redis.call('ZADD', p .. 'f:' .. parent, 0, string.sub(key, from, slash - 1))
  parent = string.sub(key, 1, slash)
  from = slash + 1
  slash = string.find(key, '/', from, true)
end
return 1
`;

/**
 * ARGV: prefix, links (1: prune emptied folders from their parents), key, key, ... Removes each
 * object and its index entries. Returns the count given.
 */
export const DELETE_SCRIPT = `${HELPERS}
local p, links = ARGV[1], ARGV[2] == '1'
for i = 3, #ARGV do
  local key = ARGV[i]
  local folder, name = split(key)
  redis.call('UNLINK', p .. 'o:' .. key)
  redis.call('ZREM', p .. 'i:' .. folder, name)
  redis.call('ZREM', p .. 'e:' .. folder, name)
  if links then prune(p, folder) end
end
return #ARGV - 2
`;

/**
 * ARGV: prefix, folder, lex cursor ('-' or '(' .. last name), page size, links (1: prune). Returns
 * { next cursor name or '' at the end, name, size, modified, name, size, modified, ... } for the
 * live objects of one page; names whose object has expired are dropped from the index on the way.
 */
export const LIST_PAGE_SCRIPT = `${HELPERS}
local p, folder, cursor, count, links = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5] == '1'
local names = redis.call('ZRANGEBYLEX', p .. 'i:' .. folder, cursor, '+', 'LIMIT', 0, count)
local out = { #names < count and '' or names[#names] }
local dropped = false
for _, name in ipairs(names) do
  local meta = redis.call('HMGET', p .. 'o:' .. folder .. name, 's', 'm')
  if meta[1] then
    out[#out + 1] = name
    out[#out + 1] = meta[1]
    out[#out + 1] = meta[2]
  else
    redis.call('ZREM', p .. 'i:' .. folder, name)
    redis.call('ZREM', p .. 'e:' .. folder, name)
    dropped = true
  end
end
if cursor == '-' and trim_expired(p, folder, now_ms(), 100) > 0 then dropped = true end
if dropped and links then prune(p, folder) end
return out
`;
