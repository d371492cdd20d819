/**
 * The escalating lockout, one Lua script per change so engine processes that race see one order of events.
 * The user's standing hash holds:
 *   failures       consecutive failures since the last lock or success
 *   lockLevel      how many locks in a row (the escalation level); not reset by a success
 *   lockedUntil    end of the current timed lock (ms)
 *   hardLockedAt   set when lockLevel reaches the maximum: only an administrator lifts it
 *   lockToken      which attempt set the current lock (so that attempt, proved right after all, can undo it)
 *   lastFailureAt  for the quiet period after which lockLevel returns to 0
 *   blockedUntil / blockReason   fraud blocks (separate: written by the blockUser effect)
 *
 * KEYS[1] standing hash
 * ARGV[1] op: 'reserve' | 'failure' | 'success' | 'settle'
 * ARGV[2] now (ms), ARGV[3] threshold, ARGV[4] first lock (ms), ARGV[5] hard lock at this level,
 * ARGV[6] quiet period that resets the level (ms), ARGV[7] token of the attempt ('' for none),
 * ARGV[8] for 'settle': '1' when the attempt proved right
 *
 * Returns { verdict, level, lockedUntil, failures } where verdict is
 *   'counted' | 'locked-now' | 'hard-now' (reserve/failure), 'blocked' | 'hard' | 'locked' (reserve refused),
 *   'ok' (success/settle).
 */
export const LOCKOUT_SCRIPT = `
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local firstLockMs = tonumber(ARGV[4])
local hardAt = tonumber(ARGV[5])
local quietMs = tonumber(ARGV[6])
local token = ARGV[7]

local function num(field)
  return tonumber(redis.call('HGET', key, field) or '0') or 0
end

local function result(verdict)
  return { verdict, num('lockLevel'), num('lockedUntil'), num('failures') }
end

if op == 'success' then
  redis.call('HDEL', key, 'failures')
  return result('ok')
end

if op == 'settle' then
  -- The attempt was counted as a failure when it began; a right answer takes that back.
  if ARGV[8] == '1' then
    redis.call('HDEL', key, 'failures')
    if token ~= '' and redis.call('HGET', key, 'lockToken') == token then
      redis.call('HDEL', key, 'lockedUntil', 'hardLockedAt', 'lockToken')
      redis.call('HSET', key, 'lockLevel', math.max(0, num('lockLevel') - 1))
    end
  end
  return result('ok')
end

if op == 'reserve' and num('blockedUntil') > now then return result('blocked') end
if num('hardLockedAt') > 0 then return result('hard') end
if op == 'reserve' and num('lockedUntil') > now then return result('locked') end

-- A failure (a reserved attempt counts as one until it is settled as right).
local level = num('lockLevel')
local quietSince = math.max(num('lastFailureAt'), num('lockedUntil'))
if level > 0 and quietMs > 0 and now - quietSince >= quietMs then
  level = 0
  redis.call('HSET', key, 'lockLevel', 0)
end
redis.call('HSET', key, 'lastFailureAt', now)
local failures = redis.call('HINCRBY', key, 'failures', 1)
if failures < threshold then return result('counted') end

level = level + 1
redis.call('HSET', key, 'lockLevel', level, 'failures', 0, 'lockToken', token)
if level >= hardAt then
  redis.call('HSET', key, 'hardLockedAt', now)
  redis.call('HDEL', key, 'lockedUntil')
  return result('hard-now')
end
redis.call('HSET', key, 'lockedUntil', now + firstLockMs * 2 ^ (level - 1))
return result('locked-now')
`;
