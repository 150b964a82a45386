/**
 * Lua scripts that make each store write atomic. Redis runs a script without interleaving other
 * commands, so "take the lock and write version 1" and "check the version, write, append the
 * timeline, release the lock" can never be observed half done, even with two bot processes.
 *
 * The env lock key is derived inside the save script from the env stored in the operation hash:
 * the caller may not know the env (a resumed operation), and the bot's state Redis is a single
 * server, not a cluster, so keys built in a script are safe here.
 */

/**
 * The lease fence every write checks first: KEYS[n] is the instance lease, the token ARGV ('' for
 * a store no lease guards, as in tests). Unless the lease key holds exactly that token, nothing
 * is written and the script answers the token it found ('none' when the key is gone).
 */
const FENCE = `
local function fenced(key, token)
  if token == '' then return false end
  local v = redis.call('GET', key)
  if not v then return 'none' end
  local ok, o = pcall(cjson.decode, v)
  if not ok or type(o) ~= 'table' or o.token == nil then return 'unknown' end
  if tostring(o.token) ~= token then return tostring(o.token) end
  return false
end
`;

/**
 * KEYS: lock, op, timeline, active-set, lease
 * ARGV: id, env, kind, snapshot, updatedAt, token, entry1, entry2, ...
 * Returns {1, version}, {0, activeId} or {-1, lease token} (fenced).
 *
 * Ids are unique (a counter), so a lock already held by this very id with version 1 stored is
 * this create arriving twice (ioredis resends a command whose reply a reconnect lost): success.
 */
export const CREATE_SCRIPT = `${FENCE}
local f = fenced(KEYS[5], ARGV[6])
if f then return {-1, f} end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] and redis.call('HGET', KEYS[2], 'version') == '1' then return {1, 1} end
if holder then return {0, holder} end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('operation ' .. ARGV[1] .. ' already exists')
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'env', ARGV[2], 'kind', ARGV[3], 'snapshot', ARGV[4],
  'updatedAt', ARGV[5], 'version', 1, 'status', 'active')
for i = 7, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[i])
end
redis.call('SADD', KEYS[4], ARGV[1])
return {1, 1}
`;

/**
 * KEYS: op, timeline, active-set, lease
 * ARGV: id, expectedVersion, snapshot, updatedAt, final ('1'|'0'), prefix, saveId, token, entry1, ...
 * Returns {1, newVersion}, {0, actualVersion|false} or {-1, lease token} (fenced).
 *
 * Each save carries an id stored beside the snapshot. The same save arriving again after it was
 * applied (the caller retried because the reply was lost, or ioredis resent it after a
 * reconnect) finds version expected+1 written by its own id: that is its success, and nothing
 * is written or appended twice. Any other writer at a different version is refused.
 */
export const SAVE_SCRIPT = `${FENCE}
local f = fenced(KEYS[4], ARGV[8])
if f then return {-1, f} end
local current = tonumber(redis.call('HGET', KEYS[1], 'version'))
if not current then return {0, false} end
local expected = tonumber(ARGV[2])
if current == expected + 1 and redis.call('HGET', KEYS[1], 'saveId') == ARGV[7] then return {1, current} end
if current ~= expected then return {0, current} end
if redis.call('HGET', KEYS[1], 'status') == 'finished' then return {0, current} end
local nextVersion = current + 1
redis.call('HSET', KEYS[1], 'version', nextVersion, 'snapshot', ARGV[3], 'updatedAt', ARGV[4], 'saveId', ARGV[7])
for i = 9, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[i])
end
if ARGV[5] == '1' then
  local env = redis.call('HGET', KEYS[1], 'env')
  local lock = ARGV[6] .. 'lock:' .. env
  redis.call('HSET', KEYS[1], 'status', 'finished')
  if redis.call('GET', lock) == ARGV[1] then redis.call('DEL', lock) end
  redis.call('SET', ARGV[6] .. 'last:' .. env, ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
end
return {1, nextVersion}
`;

/**
 * KEYS: op, timeline, appends (a sorted set of the append ids seen), lease
 * ARGV: appendId, keep, ttlSeconds, token, entry1, entry2, ...
 * Returns 1, 0 when the operation does not exist (nothing written), or {-1, lease token} (fenced).
 *
 * An append carries an id. The same append arriving again (ioredis resends a command whose reply
 * a reconnect lost; the caller retries with the same id) finds its id among the ones seen and
 * writes nothing: the timeline never shows an entry twice. Only the latest `keep` ids are kept,
 * scored by the stream length after each append (strictly increasing), and the set expires
 * `ttlSeconds` after the last append: a repeat comes within seconds, not days.
 */
export const APPEND_SCRIPT = `${FENCE}
local f = fenced(KEYS[4], ARGV[4])
if f then return {-1, f} end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 1 end
for i = 5, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[i])
end
redis.call('ZADD', KEYS[3], redis.call('XLEN', KEYS[2]), ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[2]) + 1))
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
`;

/**
 * KEYS: op, timeline, meta, appends, active-set
 * ARGV: id, prefix
 * Returns 1 (removed), 0 (no such operation) or -1 (it moved on past version 1, or finished: kept).
 *
 * Undoes a create whose outcome the caller could not learn and that it reported as failed. Only
 * an operation nobody has written since its create (version 1, active) is removed; one that a
 * process went on driving is a real operation now and stays.
 */
export const WITHDRAW_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'version') ~= '1' or redis.call('HGET', KEYS[1], 'status') ~= 'active' then return -1 end
local lock = ARGV[2] .. 'lock:' .. redis.call('HGET', KEYS[1], 'env')
if redis.call('GET', lock) == ARGV[1] then redis.call('DEL', lock) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[5], ARGV[1])
return 1
`;
