/**
 * One atomic step of a flow: check the version, write the snapshot, append the event log entry, park the
 * effects in the outbox, remember the idempotency key, and announce a status change. Either all of it happens
 * or none of it.
 *
 * KEYS: flow, log, outbox, pendingOutboxes, idempotency (or '' when none), index (or '' when none)
 * ARGV: expectedVersion, snapshot, status, logEntry (JSON), effects (JSON or ''), now, idempotencyValue,
 *       idempotencyTtlSeconds, flowTtlSeconds, statusChannel, flowId, createFields (JSON or ''),
 *       indexKeep, indexTtlSeconds, fence (or '' when the flow waits for no fenced effect)
 *
 * The index (a flow's entry in a sorted set, e.g. the number a reply will come from) is written in the same
 * step, so nobody can see the flow's effects queued without seeing its index entry too. Its score is the time,
 * raised above the newest member when needed: the last flow added is always the newest.
 *
 * The fence names the effect the new state waits for (e.g. the text carrying the current code); workers run a
 * fenced effect only while the flow's fence is still the effect's (see fence-script.ts).
 * Returns: {'ok', version} | {'conflict', currentVersion} | {'duplicate', storedValue}
 */
export const COMMIT_SCRIPT = `
local flowKey, logKey, outboxKey, pendingKey, idemKey, indexKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local expected = tonumber(ARGV[1])
if idemKey ~= '' then
  local seen = redis.call('GET', idemKey)
  if seen then return {'duplicate', seen} end
end
local current = tonumber(redis.call('HGET', flowKey, 'version') or '0')
if current ~= expected then return {'conflict', tostring(current)} end
local version = expected + 1
local previousStatus = redis.call('HGET', flowKey, 'status')
if ARGV[12] ~= '' then
  local fields = cjson.decode(ARGV[12])
  for name, value in pairs(fields) do redis.call('HSET', flowKey, name, value) end
end
redis.call('HSET', flowKey, 'version', version, 'snapshot', ARGV[2], 'status', ARGV[3], 'updatedAt', ARGV[6])
if ARGV[15] ~= '' then redis.call('HSET', flowKey, 'fence', ARGV[15]) else redis.call('HDEL', flowKey, 'fence') end
redis.call('XADD', logKey, '*', 'version', version, 'entry', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', outboxKey, version, ARGV[5])
  redis.call('ZADD', pendingKey, ARGV[6], ARGV[11] .. '|' .. version)
  redis.call('EXPIRE', outboxKey, ARGV[9])
end
if idemKey ~= '' then redis.call('SET', idemKey, ARGV[7], 'EX', ARGV[8]) end
if indexKey ~= '' then
  local score = tonumber(ARGV[6])
  local top = redis.call('ZREVRANGE', indexKey, 0, 0, 'WITHSCORES')
  if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end
  redis.call('ZADD', indexKey, score, ARGV[11])
  redis.call('ZREMRANGEBYRANK', indexKey, 0, -(tonumber(ARGV[13]) + 1))
  redis.call('EXPIRE', indexKey, ARGV[14])
end
redis.call('EXPIRE', flowKey, ARGV[9])
redis.call('EXPIRE', logKey, ARGV[9])
if previousStatus ~= ARGV[3] then redis.call('PUBLISH', ARGV[10], ARGV[11] .. ' ' .. ARGV[3]) end
return {'ok', tostring(version)}
`;
