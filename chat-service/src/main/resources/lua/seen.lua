-- A direct message's "seen" (v1.1): finds the sender's own copy of the message with a client id in
-- the sender's inbox and moves the reader's position there forward.
-- KEYS: 1 seq, 2 history, 3 read positions hash (user -> seq), all of the sender's inbox
-- ARGV: 1 the copy's marker: ',"id":<id>,"from":<sender>,"text":' as the frame spells it (ids and
--       text are JSON strings, so an unescaped quote, and thus the marker, occurs nowhere else),
--       2 reader
-- Returns the new position, or -1 when it did not move or the copy is no longer stored
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local len = redis.call('LLEN', KEYS[2])
local first = head - len + 1
-- Newest first: the copy was stored just after the reader's, so it is near the end.
local hi = len - 1
while hi >= 0 do
  local lo = math.max(0, hi - 99)
  local frames = redis.call('LRANGE', KEYS[2], lo, hi)
  for i = #frames, 1, -1 do
    if string.find(frames[i], ARGV[1], 1, true) then
      local seq = first + lo + i - 1
      local at = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
      if seq <= at then
        return -1
      end
      redis.call('HSET', KEYS[3], ARGV[2], seq)
      return seq
    end
  end
  hi = lo - 1
end
return -1
