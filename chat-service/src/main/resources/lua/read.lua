-- Moves a user's read position in a room forward (v1.1), never past the room's last seq.
-- KEYS: 1 seq, 2 read positions hash (user -> seq)
-- ARGV: 1 user, 2 seq read
-- Returns the new position, or -1 when it did not move
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local to = math.min(tonumber(ARGV[2]), head)
local at = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if to <= at then
  return -1
end
redis.call('HSET', KEYS[2], ARGV[1], to)
return to
