-- Takes a slot of a key unless the cluster already holds max of them.
-- KEYS: 1 the slots hash (owner -> slots held by that owner)
-- ARGV: 1 owner, 2 max
-- Returns 1 when the slot was taken, 0 when all were held.
local held = 0
for _, n in ipairs(redis.call('HVALS', KEYS[1])) do
  held = held + tonumber(n)
end
if held >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
