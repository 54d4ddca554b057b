-- Gives back one slot of a key held by an owner.
-- KEYS: 1 the slots hash (owner -> slots held by that owner)
-- ARGV: 1 owner
-- Returns the slots the owner still holds.
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
return left
