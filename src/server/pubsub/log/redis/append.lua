-- Appends batches of events to one or more topics, with their membership changes, atomically.
--
-- Redis runs a script alone: no other client's command lands between two of these lines, so
-- a reader sees all of a call or none of it, and a crash cannot split an event from its
-- membership change (what separate commands could not promise). Several topics per call, so
-- one tick of the market (eight topics) or of the benchmark (dozens) is one round trip; the
-- caller keeps each call to a bounded number of topics, since nothing else runs meanwhile.
--
-- KEYS[1]  the feed lease (holds the publishing instance's token)
-- KEYS[2]  the doorbell: one stream for all topics, one entry per call naming the event streams
--          it appended to, so a reader waits on one key instead of every topic's (reader.rs)
-- KEYS[3t], KEYS[3t+1], KEYS[3t+2], for the t-th topic (t = 1, 2, …):
--          its head ("<epoch>-<seq>" of its last event), its event stream (XADD; the entry ids
--          are our event ids), its members (hash: symbol -> quote JSON, the snapshot)
-- ARGV[1]  this instance's lease token
-- ARGV[2]  the epoch to start when a head is missing (Redis lost its data: a new epoch)
-- ARGV[3]  MAXLEN for trimming the streams and the doorbell (approximate, `~`: whole nodes)
-- ARGV[4…] per topic, in KEYS order: the number of events n, then five per event: kind, data,
--          membership op ("upsert" | "remove" | "none"), symbol, quote JSON
--
-- Returns the new head of each topic, in order. Fails, writing nothing, with "LEASE …" when
-- this instance does not hold the feed lease: a publisher that lost its lease (a long pause, a
-- partition) can never interleave its events with the new publisher's.

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('LEASE this instance does not hold the feed lease')
end

local heads, rang = {}, {}
local a = 4
for k = 3, #KEYS, 3 do
  local head_key, events_key, members_key = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local epoch, seq = ARGV[2], 0
  local head = redis.call('GET', head_key)
  if head then
    local e, s = string.match(head, '^(%d+)-(%d+)$')
    epoch, seq = e, tonumber(s)
  end
  local n = tonumber(ARGV[a])
  a = a + 1
  for _ = 1, n do
    seq = seq + 1
    -- Our id verbatim as the entry id: `<epoch>-<seq>` is a valid stream id, and it only
    -- grows (a new epoch is a later time in milliseconds), so XADD accepts it.
    local id = string.format('%s-%d', epoch, seq)
    redis.call('XADD', events_key, 'MAXLEN', '~', ARGV[3], id, 'event', ARGV[a], 'data', ARGV[a + 1])
    local op = ARGV[a + 2]
    if op == 'upsert' then
      redis.call('HSET', members_key, ARGV[a + 3], ARGV[a + 4])
    elseif op == 'remove' then
      redis.call('HDEL', members_key, ARGV[a + 3])
    end
    a = a + 5
  end
  head = string.format('%s-%d', epoch, seq)
  redis.call('SET', head_key, head)
  heads[#heads + 1] = head
  if n > 0 then
    rang[#rang + 1] = events_key
  end
end

if #rang > 0 then
  -- Stream keys never contain a space (they are topic paths), so one field lists them all.
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'events', table.concat(rang, ' '))
end
return heads
