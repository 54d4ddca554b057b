-- Reads one page of a room's history: the stored messages with seq < before, newest limit of them.
-- KEYS: 1 seq, 2 history, 3 epoch
-- ARGV: 1 epoch to create if the room has none, 2 before (a seq, or -1 for the newest), 3 limit
-- Returns {epoch, more 0|1, {messages, oldest first}}
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch)
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = head - redis.call('LLEN', KEYS[2]) + 1
local before = tonumber(ARGV[2])
local top = head
if before >= 0 and before - 1 < head then
  top = before - 1
end
local bottom = math.max(first, top - tonumber(ARGV[3]) + 1)
if top < bottom then
  return {epoch, 0, {}}
end
local messages = redis.call('LRANGE', KEYS[2], bottom - first, top - first)
local more = 0
if bottom > first then
  more = 1
end
return {epoch, more, messages}
