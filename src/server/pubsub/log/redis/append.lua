-- Appends a batch of events to one topic, with their membership changes, atomically.
--
-- Redis runs a script alone: no other client's command lands between two of these lines, so
-- a reader sees all of the batch or none of it, and a crash cannot split an event from its
-- membership change (what two separate commands could not promise).
--
-- KEYS[1]  the topic's head: "<epoch>-<seq>" of its last event
-- KEYS[2]  the topic's event stream (XADD; the entry ids are our event ids)
-- KEYS[3]  the topic's members (hash: symbol -> quote JSON), the snapshot new subscribers get
-- KEYS[4]  the feed lease (holds the publishing instance's token)
-- KEYS[5]  the doorbell: one stream for all topics, one entry per batch naming KEYS[2], so a
--          reader waits on one key instead of every topic's (see reader.rs)
-- ARGV[1]  this instance's lease token
-- ARGV[2]  the epoch to start when the head is missing (Redis lost its data: a new epoch)
-- ARGV[3]  MAXLEN for trimming the stream and the doorbell (approximate, `~`: whole nodes at
--          a time)
-- ARGV[4…] five per event: kind, data, membership op ("upsert" | "remove" | "none"),
--          symbol, quote JSON
--
-- Returns the new head. Fails, writing nothing, with "LEASE …" when this instance does not
-- hold the feed lease: a publisher that lost its lease (a long pause, a partition) can never
-- interleave its events with the new publisher's.

if redis.call('GET', KEYS[4]) ~= ARGV[1] then
  return redis.error_reply('LEASE this instance does not hold the feed lease')
end

local epoch, seq = ARGV[2], 0
local head = redis.call('GET', KEYS[1])
if head then
  local e, s = string.match(head, '^(%d+)-(%d+)$')
  epoch, seq = e, tonumber(s)
end

for i = 4, #ARGV, 5 do
  seq = seq + 1
  -- Our id verbatim as the entry id: `<epoch>-<seq>` is a valid stream id, and it only grows
  -- (a new epoch is a later time in milliseconds), so XADD accepts it.
  local id = string.format('%s-%d', epoch, seq)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id, 'event', ARGV[i], 'data', ARGV[i + 1])
  local op = ARGV[i + 2]
  if op == 'upsert' then
    redis.call('HSET', KEYS[3], ARGV[i + 3], ARGV[i + 4])
  elseif op == 'remove' then
    redis.call('HDEL', KEYS[3], ARGV[i + 3])
  end
end

head = string.format('%s-%d', epoch, seq)
redis.call('SET', KEYS[1], head)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'events', KEYS[2])
return head
