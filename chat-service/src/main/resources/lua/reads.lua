-- The read positions a joined frame carries (v1.1), as a flat list.
-- KEYS: 1 read positions hash (user -> seq)
-- ARGV: 1 at most this many positions when listing all, 2.. the users to list; with no users,
--       every position kept (an inbox: its owner's and its peers' "seen"), if there are at most
--       ARGV[1] of them, else none
-- Returns {user, seq, user, seq, ...} of the users that have a position
local out = {}
if #ARGV == 1 then
  if redis.call('HLEN', KEYS[1]) <= tonumber(ARGV[1]) then
    return redis.call('HGETALL', KEYS[1])
  end
  return out
end
for i = 2, #ARGV do
  local at = redis.call('HGET', KEYS[1], ARGV[i])
  if at then
    out[#out + 1] = ARGV[i]
    out[#out + 1] = at
  end
end
return out
