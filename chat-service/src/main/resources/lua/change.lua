-- Stores an edit or delete (v1.1) atomically, as publish.lua stores a message, once its target
-- passed: it must be a stored plain message of the room, by the same author unless any may, and
-- for an edit not deleted.
-- KEYS: 1 seq, 2 history, 3 epoch, 4 dedup key of (room, user, client id), 5 dataset
-- ARGV: 1 frame head (ends with "seq":), 2 frame middle (ends with "ts":), 3 dedup window ms,
--       4 history max, 5 channel, 6 epoch to create if the room has none (fresh random),
--       7 target seq, 8 author, 9 any author may 0|1, 10 an edit 0|1 (else a delete),
--       11 identity of the dataset this call runs on (run_id:master_replid), or '' to read it,
--       12 PUBLISH or SPUBLISH (Redis Cluster)
-- Returns {status, seq, ts, epoch}; status 0 stored, 1 duplicate, 2 no such stored message,
-- 3 not the author's, 4 the target is itself an edit or delete, 5 an edit of a deleted message
local dataset = ARGV[11]
if dataset == '' then
  -- Redis Cluster: the identity of the shard master running this call (see publish.lua).
  local info = redis.call('INFO', 'server', 'replication')
  dataset = string.match(info, 'run_id:(%w+)') .. ':' .. string.match(info, 'master_replid:(%w+)')
end
local epoch = redis.call('GET', KEYS[3])
if not epoch or redis.call('GET', KEYS[5]) ~= dataset then
  -- Possibly rolled back (see publish.lua): a new epoch before anything is stored.
  epoch = ARGV[6]
  redis.call('SET', KEYS[3], epoch)
  redis.call('SET', KEYS[5], dataset)
end
local seen = redis.call('GET', KEYS[4])
if seen then
  local sep = string.find(seen, ':', 1, true)
  return {1, tonumber(string.sub(seen, 1, sep - 1)), tonumber(string.sub(seen, sep + 1)), epoch}
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = head - redis.call('LLEN', KEYS[2]) + 1
local target = tonumber(ARGV[7])
if target < first or target > head then
  return {2, 0, 0, epoch}
end
local stored = cjson.decode(redis.call('LINDEX', KEYS[2], target - first))
if stored['edits'] or stored['deletes'] then
  return {4, 0, 0, epoch}
end
if ARGV[10] == '1' then
  -- A delete of the target is stored after it, still in history while the target is. Its frame
  -- spells ',"deletes":<target>,' and nothing else does: strings are JSON, so ',"' occurs in none.
  local marker = ',"deletes":' .. ARGV[7] .. ','
  local lo = target - first + 1
  local last = head - first
  while lo <= last do
    local hi = math.min(last, lo + 99)
    for _, f in ipairs(redis.call('LRANGE', KEYS[2], lo, hi)) do
      if string.find(f, marker, 1, true) then
        return {5, 0, 0, epoch}
      end
    end
    lo = hi + 1
  end
end
if ARGV[9] ~= '1' and stored['from'] ~= ARGV[8] then
  return {3, 0, 0, epoch}
end
local seq = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tsText = string.format('%.0f', ts)
local frame = ARGV[1] .. seq .. ARGV[2] .. tsText .. '}'
redis.call('RPUSH', KEYS[2], frame)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('SET', KEYS[4], seq .. ':' .. tsText, 'PX', ARGV[3])
-- The same publish as publish.lua's, so the stream stays one channel in seq order.
redis.call(ARGV[12], ARGV[5], 'M|' .. epoch .. '|' .. seq .. '|' .. frame)
return {0, seq, ts, epoch}
