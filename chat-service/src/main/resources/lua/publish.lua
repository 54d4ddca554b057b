-- Stores one message atomically: dedup check, next seq, capped history, publish.
-- KEYS: 1 seq, 2 history, 3 epoch, 4 dedup key of (room, user, client id), 5 dataset
-- ARGV: 1 frame head (ends with "seq":), 2 frame middle (ends with "ts":), 3 dedup window ms,
--       4 history max, 5 channel, 6 epoch to create if the room has none (fresh random),
--       7 identity of the dataset this call runs on (run_id:master_replid), or '' to read it,
--       8 PUBLISH or SPUBLISH (Redis Cluster)
-- Returns {duplicate 0|1, seq, ts, epoch}
local dataset = ARGV[7]
if dataset == '' then
  -- Redis Cluster: the identity of the shard master running this very call, read atomically with
  -- the write, so a failover onto a replica that missed writes always starts a new epoch.
  local info = redis.call('INFO', 'server', 'replication')
  dataset = string.match(info, 'run_id:(%w+)') .. ':' .. string.match(info, 'master_replid:(%w+)')
end
local epoch = redis.call('GET', KEYS[3])
if not epoch or redis.call('GET', KEYS[5]) ~= dataset then
  -- A room last touched by another Redis process (restarted from RDB/AOF, a promoted replica) may
  -- have lost acknowledged messages: a new epoch, before anything is stored, tells every reader.
  -- The seq counter and history stay: they and the surviving dedup keys come from one snapshot.
  epoch = ARGV[6]
  redis.call('SET', KEYS[3], epoch)
  redis.call('SET', KEYS[5], dataset)
end
local seen = redis.call('GET', KEYS[4])
if seen then
  -- Rewritten as is, so this call writes: a WAIT after it (CHAT_REDIS_REPLICAS_ACK) then covers
  -- the original too, even when that was stored over another connection whose WAIT timed out.
  redis.call('SET', KEYS[4], seen, 'KEEPTTL')
  local sep = string.find(seen, ':', 1, true)
  return {1, tonumber(string.sub(seen, 1, sep - 1)), tonumber(string.sub(seen, sep + 1)), epoch}
end
local seq = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tsText = string.format('%.0f', ts)
local frame = ARGV[1] .. seq .. ARGV[2] .. tsText .. '}'
redis.call('RPUSH', KEYS[2], frame)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('SET', KEYS[4], seq .. ':' .. tsText, 'PX', ARGV[3])
redis.call(ARGV[8], ARGV[5], 'M|' .. epoch .. '|' .. seq .. '|' .. frame)
return {0, seq, ts, epoch}
