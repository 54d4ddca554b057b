-- Registers presence (optional) and reads a room in one atomic step.
-- KEYS: 1 seq, 2 history, 3 epoch, 4 users hash (user -> presences), 5 this owner's presence set,
--       6 dataset
-- ARGV: 1 epoch to create if the room has none (fresh random), 2 reader's epoch or '',
--       3 reader's since or -1, 4 history limit, 5 user or '' (read only), 6 channel,
--       7 users listed at most, 8 silent 0|1, 9 identity of the dataset this call runs on or ''
--       to read it, 10 PUBLISH or SPUBLISH (Redis Cluster)
-- Returns {epoch, seq, recovered 0|1, online, truncated 0|1, {users}, {messages}}
local dataset = ARGV[9]
if dataset == '' then
  -- Redis Cluster: the identity of the shard master running this very call, read atomically with
  -- the write, so a failover onto a replica that missed writes always starts a new epoch.
  local info = redis.call('INFO', 'server', 'replication')
  dataset = string.match(info, 'run_id:(%w+)') .. ':' .. string.match(info, 'master_replid:(%w+)')
end
local epoch = redis.call('GET', KEYS[3])
if not epoch or redis.call('GET', KEYS[6]) ~= dataset then
  -- Possibly rolled back (see publish.lua): a new epoch before anything is read or stored.
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch)
  redis.call('SET', KEYS[6], dataset)
end
local user = ARGV[5]
if user ~= '' and redis.call('SADD', KEYS[5], user) == 1 then
  if redis.call('HINCRBY', KEYS[4], user, 1) == 1 and ARGV[8] ~= '1' then
    redis.call(ARGV[10], ARGV[6], 'P|join|' .. redis.call('HLEN', KEYS[4]) .. '|' .. user)
  end
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = head - redis.call('LLEN', KEYS[2]) + 1
local since = tonumber(ARGV[3])
local recovered = 0
local from
-- A since beyond the head is a position this history never reached (or lost): never recovered.
if since >= 0 and ARGV[2] == epoch and since <= head and since + 1 >= first then
  recovered = 1
  from = since + 1
else
  from = math.max(first, head - tonumber(ARGV[4]) + 1)
end
local messages = {}
if from <= head then
  messages = redis.call('LRANGE', KEYS[2], from - first, -1)
end
local online = redis.call('HLEN', KEYS[4])
local max = tonumber(ARGV[7])
local users
local truncated = 0
if online <= max then
  users = redis.call('HKEYS', KEYS[4])
else
  users = redis.call('HRANDFIELD', KEYS[4], max)
  truncated = 1
end
return {epoch, head, recovered, online, truncated, users, messages}
